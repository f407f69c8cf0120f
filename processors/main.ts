import {
  auditEnv,
  baseEnv,
  databaseEnv,
  kafkaEnv,
  loadConfig,
  portsEnv,
  sessionsEnv,
} from '../platform/config.ts';
import { auditJobsConfig } from './audit-jobs.ts';
import { createTransport } from '../platform/events/create-transport.ts';
import { createMetrics } from '../platform/http/metrics.ts';
import { runProcess } from '../platform/process.ts';
import { createProcessors } from './service.ts';

runProcess(
  'processors',
  () => loadConfig({ ...baseEnv, ...databaseEnv, ...kafkaEnv, ...portsEnv, ...auditEnv, ...sessionsEnv }),
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
      sessionPurge: {
        graceMs: config.SESSION_DELETE_GRACE_SECONDS * 1000,
        intervalMs: config.SESSION_PURGE_INTERVAL_SECONDS * 1000,
      },
    });
    await processors.start();
    return async () => {
      await processors.stop();
      await transport.stop();
    };
  },
);
