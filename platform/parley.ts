import { randomUUID } from 'node:crypto';
import { auditEnv, s3Env, sessionsEnv, sessionsStorageEnv } from './config.ts';
import { routerEnv } from '../router/config.ts';
import type { z } from 'zod';
import { createTransport } from './events/create-transport.ts';
import type { EventTransport } from './events/transport.ts';
import { createMetrics } from './http/metrics.ts';
import { createSubgraphService, type SubgraphService } from './graphql/subgraph-service.ts';
import type { Logger } from './logger.ts';
import { createCircuitBreaker } from './resilience/circuit-breaker.ts';
import { createObjectStore, type ObjectStore, type ObjectStoreConfig } from './objects.ts';
import type { createRouter } from '../router/server.ts';
import type { createApiKeyStore } from '../router/api-keys.ts';
import { createRouterService } from '../router/compose.ts';
import { createProcessors } from '../processors/service.ts';
import { createSessionsDefinition } from '../subgraphs/sessions/definition.ts';
import { createStorageJobs } from '../subgraphs/sessions/storage-jobs.ts';
import { createSessionPurger, purgeTimingFrom } from '../subgraphs/sessions/purge.ts';
import { storageLimitsFrom } from '../subgraphs/sessions/storage-limits.ts';
import { tasksSubgraph } from '../subgraphs/tasks/definition.ts';
import { createAuditSubgraph } from '../subgraphs/audit/definition.ts';
import { createAuditSigner } from '../subgraphs/audit/signing.ts';
import { auditJobsConfig } from '../processors/audit-jobs.ts';

/** Every variable any process reads (the router's are a superset of the others' but S3). */
export const parleyEnv = { ...routerEnv, ...s3Env, ...auditEnv, ...sessionsStorageEnv, ...sessionsEnv };
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

    const signer = createAuditSigner(config.AUDIT_SIGNING_KEY);
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
        definition: createSessionsDefinition({ objects, limits: storageLimitsFrom(config) }),
        port: config.SESSIONS_PORT,
        checks: {
          s3: () =>
            Promise.resolve({ ok: objects.breaker.state() !== 'open', ...objects.breaker.snapshot() }),
        },
      }),
      tasks: await createSubgraphService({ ...common, definition: tasksSubgraph, port: config.TASKS_PORT }),
      audit: await createSubgraphService({
        ...common,
        definition: createAuditSubgraph({ signer, objects, retentionDays: config.AUDIT_RETENTION_DAYS }),
        port: config.AUDIT_PORT,
      }),
    };
    const urls = { sessions: '', tasks: '', audit: '' };
    for (const name of ['sessions', 'tasks', 'audit'] as const) {
      const service = subgraphs[name];
      urls[name] = (await service.start()).url;
      stops.push(() => service.stop());
    }
    const storageJobs = createStorageJobs({
      db: subgraphs.sessions.db,
      objects,
      logger,
      limits: storageLimitsFrom(config),
      wake: () => subgraphs.sessions.relay.wake(),
    });
    storageJobs.start();
    stops.push(() => storageJobs.stop());
    const purger = createSessionPurger({
      db: subgraphs.sessions.db,
      relay: subgraphs.sessions.relay,
      objects,
      logger,
      ...purgeTimingFrom(config),
    });
    purger.start();
    stops.push(() => purger.stop());

    const processors = await createProcessors({
      ...common,
      port: config.PROCESSORS_PORT,
      groupPrefix: deps.groupPrefix ?? '',
      sessionsRelay: subgraphs.sessions.relay,
      tasksRelay: subgraphs.tasks.relay,
      audit: auditJobsConfig(config, signer),
    });
    await processors.start();
    stops.push(() => processors.stop());

    const routerService = await createRouterService({
      config,
      databaseUrl: deps.databaseUrl,
      subgraphUrls: urls,
      transport,
      logger,
      metrics,
      instanceId: `${deps.groupPrefix ?? ''}${randomUUID()}`,
    });
    const { router, apiKeys } = routerService;
    const { url: routerUrl } = await routerService.start();
    stops.push(() => routerService.stop());

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
