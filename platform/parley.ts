import { randomUUID } from 'node:crypto';
import { s3Env } from './config.ts';
import { routerEnv } from '../router/config.ts';
import type { z } from 'zod';
import { createDatabase } from './db/orm.ts';
import { createAuthenticator } from './auth/authenticate.ts';
import { createTransport } from './events/create-transport.ts';
import type { EventTransport } from './events/transport.ts';
import { createMetrics } from './http/metrics.ts';
import { createSubgraphService, type SubgraphService } from './graphql/subgraph-service.ts';
import type { Logger } from './logger.ts';
import { createCircuitBreaker } from './resilience/circuit-breaker.ts';
import { createObjectStore, type ObjectStore, type ObjectStoreConfig } from './objects.ts';
import { createRouter } from '../router/server.ts';
import { createApiKeyStore, routerEntities, routerMigrations } from '../router/api-keys.ts';
import { createProcessors } from '../processors/service.ts';
import { readSupergraph } from '../schema/supergraph.ts';
import { sessionsSubgraph } from '../subgraphs/sessions/definition.ts';
import { tasksSubgraph } from '../subgraphs/tasks/definition.ts';
import { auditSubgraph } from '../subgraphs/audit/definition.ts';

/** Every variable any process reads (the router's are a superset of the others' but S3). */
export const parleyEnv = { ...routerEnv, ...s3Env };
export type ParleyConfig = z.infer<z.ZodObject<typeof parleyEnv>>;

export interface ParleyDeps {
  config: ParleyConfig;
  databaseUrl: string;
  objectStore: ObjectStoreConfig;
  logger: Logger;
  /** Prefix for consumer groups, so several stacks can share one broker (tests). */
  groupPrefix?: string;
}

export interface Parley {
  routerUrl: string;
  subgraphUrls: Record<'sessions' | 'tasks' | 'audit', string>;
  transport: EventTransport;
  objects: ObjectStore;
  subgraphs: Record<'sessions' | 'tasks' | 'audit', SubgraphService>;
  processors: Awaited<ReturnType<typeof createProcessors>>;
  router: ReturnType<typeof createRouter>;
  apiKeys: ReturnType<typeof createApiKeyStore>;
  stop(): Promise<void>;
}

/** The whole system in one process: the three subgraphs, the processors and the router. */
export async function startParley(deps: ParleyDeps): Promise<Parley> {
  const { config, logger } = deps;
  const metrics = createMetrics('parley');
  const stops: (() => Promise<void>)[] = [];
  try {
    const transport = await createTransport(config, { databaseUrl: deps.databaseUrl, logger });
    stops.push(() => transport.stop());
    const objects = createObjectStore(deps.objectStore, createCircuitBreaker({ name: 's3', metrics }));
    await objects.ensureBucket();

    const common = {
      databaseUrl: deps.databaseUrl,
      transport,
      logger,
      metrics,
      host: config.HOST,
      signingSecret: config.INTERNAL_SIGNING_SECRET,
    };
    const subgraphs = {
      sessions: await createSubgraphService({
        ...common,
        definition: sessionsSubgraph,
        port: config.SESSIONS_PORT,
        checks: {
          s3: () =>
            Promise.resolve({ ok: objects.breaker.state() !== 'open', ...objects.breaker.snapshot() }),
        },
      }),
      tasks: await createSubgraphService({ ...common, definition: tasksSubgraph, port: config.TASKS_PORT }),
      audit: await createSubgraphService({ ...common, definition: auditSubgraph, port: config.AUDIT_PORT }),
    };
    const urls = { sessions: '', tasks: '', audit: '' };
    for (const name of ['sessions', 'tasks', 'audit'] as const) {
      const service = subgraphs[name];
      urls[name] = (await service.start()).url;
      stops.push(() => service.stop());
    }

    const processors = await createProcessors({
      ...common,
      port: config.PROCESSORS_PORT,
      groupPrefix: deps.groupPrefix ?? '',
      sessionsRelay: subgraphs.sessions.relay,
    });
    await processors.start();
    stops.push(() => processors.stop());

    const routerDb = await createDatabase({
      url: deps.databaseUrl,
      schema: 'router',
      entities: routerEntities,
      migrations: routerMigrations,
      logger,
      poolSize: 5,
    });
    await routerDb.migrate();
    stops.push(() => routerDb.close());
    const apiKeys = createApiKeyStore(routerDb);
    const router = createRouter({
      supergraphSdl: readSupergraph(),
      subgraphUrls: urls,
      authenticate: createAuthenticator({
        jwtSecret: config.JWT_SECRET,
        jwksUrl: config.JWT_JWKS_URL,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        apiKeys,
      }),
      signingSecret: config.INTERNAL_SIGNING_SECRET,
      transport,
      logger,
      metrics,
      host: config.HOST,
      port: config.ROUTER_PORT,
      production: config.PARLEY_ENV === 'production',
      instanceId: `${deps.groupPrefix ?? ''}${randomUUID()}`,
    });
    const { url: routerUrl } = await router.start();
    stops.push(() => router.stop());

    return {
      routerUrl,
      subgraphUrls: urls,
      transport,
      objects,
      subgraphs,
      processors,
      router,
      apiKeys,
      async stop() {
        for (const stop of stops.reverse())
          await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}
