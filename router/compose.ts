import type { z } from 'zod';
import { createAuthenticator } from '../platform/auth/authenticate.ts';
import { createDatabase } from '../platform/db/orm.ts';
import type { EventTransport } from '../platform/events/transport.ts';
import type { Metrics } from '../platform/http/metrics.ts';
import type { Logger } from '../platform/logger.ts';
import { readSupergraph } from '../schema/supergraph.ts';
import { createApiKeyStore, routerEntities, routerMigrations } from './api-keys.ts';
import type { routerEnv } from './config.ts';
import { createSecurityEvents } from './security-events.ts';
import { createRouter } from './server.ts';

export type RouterConfig = z.infer<z.ZodObject<typeof routerEnv>>;

/** The router with its database (API keys, security-event outbox): shared by `start:router` and `npm start`. */
export async function createRouterService(deps: {
  config: RouterConfig;
  databaseUrl: string;
  subgraphUrls: Record<string, string>;
  transport: EventTransport;
  logger: Logger;
  metrics: Metrics;
  instanceId?: string;
}) {
  const { config } = deps;
  const db = await createDatabase({
    url: deps.databaseUrl,
    schema: 'router',
    entities: routerEntities,
    migrations: routerMigrations,
    logger: deps.logger,
    poolSize: 5,
  });
  const apiKeys = createApiKeyStore(db);
  const securityEvents = createSecurityEvents({ db, ...deps });
  const router = createRouter({
    supergraphSdl: readSupergraph(),
    subgraphUrls: deps.subgraphUrls,
    authenticate: createAuthenticator({
      jwtSecret: config.JWT_SECRET,
      jwksUrl: config.JWT_JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      apiKeys,
    }),
    signingSecret: config.INTERNAL_SIGNING_SECRET,
    transport: deps.transport,
    logger: deps.logger,
    metrics: deps.metrics,
    host: config.HOST,
    port: config.ROUTER_PORT,
    production: config.PARLEY_ENV === 'production',
    trustProxy: config.TRUST_PROXY,
    securityEvents,
    ...(deps.instanceId ? { instanceId: deps.instanceId } : {}),
  });
  return {
    router,
    apiKeys,
    async start() {
      await db.migrate();
      await securityEvents.start();
      return router.start();
    },
    async stop() {
      await router.stop();
      await securityEvents.stop();
      await db.close();
    },
  };
}
