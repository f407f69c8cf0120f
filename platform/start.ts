import { join } from 'node:path';
import { loadConfig } from './config.ts';
import { startEmbeddedPostgres, startLocalObjectStore } from './embedded.ts';
import { startParley, parleyEnv } from './parley.ts';
import { issueDevToken } from './auth/authenticate.ts';
import { runProcess } from './process.ts';

/**
 * `npm start`: all of Parley in one process. Uses DATABASE_URL / KAFKA_BROKERS /
 * S3_ENDPOINT when set, else embedded parts kept under .data/.
 */
runProcess(
  'parley',
  () => loadConfig(parleyEnv),
  async (config, logger) => {
    const dataDir = join(process.cwd(), '.data');
    const stops: (() => Promise<void>)[] = [];
    const stopAll = async () => {
      for (const stop of stops)
        await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
    };
    try {
      const postgres = config.DATABASE_URL
        ? undefined
        : await startEmbeddedPostgres(join(dataDir, 'postgres'), logger);
      if (postgres) stops.unshift(() => postgres.stop());
      const objectServer = config.S3_ENDPOINT
        ? undefined
        : await startLocalObjectStore(join(dataDir, 'objects'), logger);
      if (objectServer) stops.unshift(() => objectServer.stop());
      const objects = objectServer ?? {
        endpoint: config.S3_ENDPOINT!,
        accessKey: config.S3_ACCESS_KEY,
        secretKey: config.S3_SECRET_KEY,
      };

      const parley = await startParley({
        config,
        logger,
        databaseUrl: config.DATABASE_URL ?? postgres!.url,
        objectStore: {
          endpoint: objects.endpoint,
          accessKey: objects.accessKey,
          secretKey: objects.secretKey,
          bucket: config.S3_BUCKET,
          region: config.S3_REGION,
        },
      });
      stops.unshift(() => parley.stop());

      const token =
        config.PARLEY_ENV === 'production' ? undefined : await issueDevToken(config.JWT_SECRET, 'dev-user');
      const lines = [
        '',
        `Parley is running: ${parley.routerUrl}`,
        `  database: ${config.DATABASE_URL ? 'DATABASE_URL' : 'embedded PGlite (.data/postgres)'}`,
        `  events:   ${config.KAFKA_BROKERS ? `Kafka ${config.KAFKA_BROKERS}` : 'event log in Postgres'}`,
        `  objects:  ${config.S3_ENDPOINT ?? `local object store ${objects.endpoint} (.data/objects)`}`,
        ...(token
          ? ['', 'Development token for user "dev-user" (send as "Authorization: Bearer <token>"):', token]
          : []),
        '',
        'Press Ctrl-C to stop.',
        '',
      ];
      process.stdout.write(lines.join('\n'));
    } catch (error) {
      await stopAll();
      throw error;
    }
    return stopAll;
  },
);
