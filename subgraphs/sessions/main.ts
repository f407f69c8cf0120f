import { loadConfig, s3Env, sessionsEnv, sessionsStorageEnv } from '../../platform/config.ts';
import { createTransport } from '../../platform/events/create-transport.ts';
import { createMetrics } from '../../platform/http/metrics.ts';
import { createObjectStore } from '../../platform/objects.ts';
import { runProcess } from '../../platform/process.ts';
import { createCircuitBreaker } from '../../platform/resilience/circuit-breaker.ts';
import { subgraphEnv } from '../../platform/graphql/run-subgraph.ts';
import { createSubgraphService } from '../../platform/graphql/subgraph-service.ts';
import { createSessionsDefinition } from './definition.ts';
import { createSessionPurger, purgeTimingFrom } from './purge.ts';
import { createStorageJobs } from './storage-jobs.ts';
import { storageLimitsFrom } from './storage-limits.ts';

/**
 * The sessions subgraph as its own process. With S3_ENDPOINT it serves attachments, export and
 * import and runs the storage jobs (retention, upload cleanup); without it those fields answer
 * SERVICE_UNAVAILABLE.
 */
runProcess(
  'sessions',
  // The S3 settings (and production's refusal of the development S3 secret) apply only when
  // S3_ENDPOINT is set.
  () => loadConfig({ ...subgraphEnv, ...sessionsEnv, ...sessionsStorageEnv, S3_ENDPOINT: s3Env.S3_ENDPOINT }),
  async (config, logger) => {
    const s3 = config.S3_ENDPOINT ? loadConfig(s3Env) : undefined;
    if (!config.DATABASE_URL)
      throw new Error(
        'DATABASE_URL is required to run a subgraph on its own (npm start runs everything embedded)',
      );
    const metrics = createMetrics('sessions');
    const limits = storageLimitsFrom(config);
    const objects = s3?.S3_ENDPOINT
      ? createObjectStore(
          {
            endpoint: s3.S3_ENDPOINT,
            accessKey: s3.S3_ACCESS_KEY,
            secretKey: s3.S3_SECRET_KEY,
            bucket: s3.S3_BUCKET,
            region: s3.S3_REGION,
          },
          createCircuitBreaker({ name: 's3', metrics }),
        )
      : undefined;
    if (objects) await objects.ensureBucket();
    else logger.warn('S3_ENDPOINT is not set: attachments, export and import are unavailable');
    const transport = await createTransport(config, { databaseUrl: config.DATABASE_URL, logger });
    const service = await createSubgraphService({
      definition: createSessionsDefinition(objects ? { objects, limits } : undefined),
      databaseUrl: config.DATABASE_URL,
      transport,
      logger,
      metrics,
      host: config.HOST,
      port: config.SESSIONS_PORT,
      signingSecret: config.INTERNAL_SIGNING_SECRET,
      ...(objects
        ? {
            checks: {
              s3: () =>
                Promise.resolve({ ok: objects.breaker.state() !== 'open', ...objects.breaker.snapshot() }),
            },
          }
        : {}),
    });
    await service.start();
    const jobs = objects
      ? createStorageJobs({ db: service.db, objects, logger, limits, wake: () => service.relay.wake() })
      : undefined;
    jobs?.start();
    const purger = createSessionPurger({
      db: service.db,
      relay: service.relay,
      objects,
      logger,
      ...purgeTimingFrom(config),
    });
    purger.start();
    return async () => {
      await purger.stop();
      await jobs?.stop();
      await service.stop();
      await transport.stop();
    };
  },
);
