import type { z } from 'zod';
import { baseEnv, databaseEnv, internalAuthEnv, kafkaEnv, loadConfig, portsEnv } from '../config.ts';
import { createTransport } from '../events/create-transport.ts';
import { createMetrics, type Metrics } from '../http/metrics.ts';
import { runProcess } from '../process.ts';
import { createSubgraphService, type SubgraphDefinition } from './subgraph-service.ts';

export const subgraphEnv = { ...baseEnv, ...databaseEnv, ...kafkaEnv, ...internalAuthEnv, ...portsEnv };
export type SubgraphConfig = z.infer<z.ZodObject<typeof subgraphEnv>>;

/**
 * Composition root of one subgraph running as its own process (production). A domain that
 * needs configuration of its own (keys, object storage) passes a config loader over
 * subgraphEnv plus its variables, and builds its definition from the validated config.
 */
export function runSubgraph<C extends SubgraphConfig>(
  name: string,
  definition: SubgraphDefinition | ((config: C, metrics: Metrics) => Promise<SubgraphDefinition>),
  port: (config: C) => number,
  load: () => C = () => loadConfig(subgraphEnv) as C,
) {
  runProcess(name, load, async (config, logger) => {
    if (!config.DATABASE_URL)
      throw new Error(
        'DATABASE_URL is required to run a subgraph on its own (npm start runs everything embedded)',
      );
    const metrics = createMetrics(name);
    const transport = await createTransport(config, { databaseUrl: config.DATABASE_URL, logger });
    const service = await createSubgraphService({
      definition: typeof definition === 'function' ? await definition(config, metrics) : definition,
      databaseUrl: config.DATABASE_URL,
      transport,
      logger,
      metrics,
      host: config.HOST,
      port: port(config),
      signingSecret: config.INTERNAL_SIGNING_SECRET,
    });
    await service.start();
    return async () => {
      await service.stop();
      await transport.stop();
    };
  });
}
