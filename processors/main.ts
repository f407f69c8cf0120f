import { auditEnv, baseEnv, databaseEnv, kafkaEnv, loadConfig, portsEnv } from '../platform/config.ts';
import { auditJobsConfig } from './audit-jobs.ts';
import { createTransport } from '../platform/events/create-transport.ts';
import { createMetrics } from '../platform/http/metrics.ts';
import { runProcess } from '../platform/process.ts';
import { createProcessors } from './service.ts';

runProcess(
  'processors',
  () => loadConfig({ ...baseEnv, ...databaseEnv, ...kafkaEnv, ...portsEnv, ...auditEnv }),
  async (config, logger) => {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required to run the processors on their own');
    const transport = await createTransport(config, { databaseUrl: config.DATABASE_URL, logger });
    const processors = await createProcessors({
      databaseUrl: config.DATABASE_URL,
      transport,
      logger,
      metrics: createMetrics('processors'),
      host: config.HOST,
      port: config.PROCESSORS_PORT,
      audit: auditJobsConfig(config),
    });
    await processors.start();
    return async () => {
      await processors.stop();
      await transport.stop();
    };
  },
);
