import { loadConfig } from '../platform/config.ts';
import { createAuthenticator } from '../platform/auth/authenticate.ts';
import { createDatabase } from '../platform/db/orm.ts';
import { createTransport } from '../platform/events/create-transport.ts';
import { createMetrics } from '../platform/http/metrics.ts';
import { runProcess } from '../platform/process.ts';
import { readSupergraph } from '../schema/supergraph.ts';
import { createApiKeyStore, routerEntities, routerMigrations } from './api-keys.ts';
import { routerEnv } from './config.ts';
import { createRouter } from './server.ts';

runProcess(
  'router',
  () => loadConfig(routerEnv),
  async (config, logger) => {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required to run the router on its own');
    const db = await createDatabase({
      url: config.DATABASE_URL,
      schema: 'router',
      entities: routerEntities,
      migrations: routerMigrations,
      logger,
      poolSize: 5,
    });
    await db.migrate();
    const transport = await createTransport(config, { databaseUrl: config.DATABASE_URL, logger });
    const router = createRouter({
      supergraphSdl: readSupergraph(),
      subgraphUrls: { sessions: config.SESSIONS_URL, tasks: config.TASKS_URL, audit: config.AUDIT_URL },
      authenticate: createAuthenticator({
        jwtSecret: config.JWT_SECRET,
        jwksUrl: config.JWT_JWKS_URL,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        apiKeys: createApiKeyStore(db),
      }),
      signingSecret: config.INTERNAL_SIGNING_SECRET,
      transport,
      logger,
      metrics: createMetrics('router'),
      host: config.HOST,
      port: config.ROUTER_PORT,
      production: config.PARLEY_ENV === 'production',
    });
    await router.start();
    return async () => {
      await router.stop();
      await transport.stop();
      await db.close();
    };
  },
);
