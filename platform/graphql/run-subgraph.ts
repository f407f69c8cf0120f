import { baseEnv, databaseEnv, internalAuthEnv, kafkaEnv, loadConfig, portsEnv } from '../config.ts';
import { createTransport } from '../events/create-transport.ts';
import { createMetrics } from '../http/metrics.ts';
import { runProcess } from '../process.ts';
import { createSubgraphService, type SubgraphDefinition } from './subgraph-service.ts';

export const subgraphEnv = { ...baseEnv, ...databaseEnv, ...kafkaEnv, ...internalAuthEnv, ...portsEnv };

/** Composition root of one subgraph running as its own process (production). */
export function runSubgraph(
  definition: SubgraphDefinition,
  port: (config: ReturnType<typeof loadConfig<typeof subgraphEnv>>) => number,
) {
  runProcess(
    definition.name,
    () => loadConfig(subgraphEnv),
    async (config, logger) => {
      if (!config.DATABASE_URL)
        throw new Error(
          'DATABASE_URL is required to run a subgraph on its own (npm start runs everything embedded)',
        );
      const transport = await createTransport(config, { databaseUrl: config.DATABASE_URL, logger });
      const service = await createSubgraphService({
        definition,
        databaseUrl: config.DATABASE_URL,
        transport,
        logger,
        metrics: createMetrics(definition.name),
        host: config.HOST,
        port: port(config),
        signingSecret: config.INTERNAL_SIGNING_SECRET,
      });
      await service.start();
      return async () => {
        await service.stop();
        await transport.stop();
      };
    },
  );
}
