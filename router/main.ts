import { loadConfig } from '../platform/config.ts';
import { createTransport } from '../platform/events/create-transport.ts';
import { createMetrics } from '../platform/http/metrics.ts';
import { runProcess } from '../platform/process.ts';
import { routerEnv } from './config.ts';
import { createRouterService } from './compose.ts';

runProcess(
  'router',
  () => loadConfig(routerEnv),
  async (config, logger) => {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required to run the router on its own');
    const transport = await createTransport(config, { databaseUrl: config.DATABASE_URL, logger });
    const service = await createRouterService({
      config,
      databaseUrl: config.DATABASE_URL,
      subgraphUrls: { sessions: config.SESSIONS_URL, tasks: config.TASKS_URL, audit: config.AUDIT_URL },
      transport,
      logger,
      metrics: createMetrics('router'),
    });
    await service.start();
    return async () => {
      await service.stop();
      await transport.stop();
    };
  },
);
