import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startEmbeddedPostgres, startLocalObjectStore } from './embedded.ts';
import { startParley, parleyEnv } from './parley.ts';
import { issueDevToken } from './auth/authenticate.ts';
import { startTelemetry } from './telemetry.ts';

/**
 * `npm start`: all of Parley in one process. Uses DATABASE_URL / KAFKA_BROKERS /
 * S3_ENDPOINT when set, else embedded parts kept under .data/.
 */
async function main() {
  const config = loadConfig(parleyEnv);
  const logger = createLogger({ service: 'parley', level: config.LOG_LEVEL });
  const telemetry = startTelemetry({ service: 'parley' });
  const dataDir = join(process.cwd(), '.data');
  const stops: (() => Promise<void>)[] = [];

  const postgres = config.DATABASE_URL ? undefined : await startEmbeddedPostgres(join(dataDir, 'postgres'), logger);
  if (postgres) stops.push(() => postgres.stop());
  const objectServer = config.S3_ENDPOINT ? undefined : await startLocalObjectStore(join(dataDir, 'objects'), logger);
  if (objectServer) stops.push(() => objectServer.stop());

  const parley = await startParley({
    config,
    logger,
    databaseUrl: config.DATABASE_URL ?? postgres!.url,
    objectStore: objectServer
      ? { endpoint: objectServer.endpoint, accessKey: objectServer.accessKey, secretKey: objectServer.secretKey, bucket: config.S3_BUCKET, region: config.S3_REGION }
      : { endpoint: config.S3_ENDPOINT!, accessKey: config.S3_ACCESS_KEY, secretKey: config.S3_SECRET_KEY, bucket: config.S3_BUCKET, region: config.S3_REGION },
  });
  stops.unshift(() => parley.stop());

  const token = config.PARLEY_ENV === 'production' ? undefined : await issueDevToken(config.JWT_SECRET, 'dev-user');
  const lines = [
    '',
    `Parley is running: ${parley.routerUrl}`,
    `  database: ${config.DATABASE_URL ? 'DATABASE_URL' : 'embedded PGlite (.data/postgres)'}`,
    `  events:   ${config.KAFKA_BROKERS ? `Kafka ${config.KAFKA_BROKERS}` : 'event log in Postgres'}`,
    `  objects:  ${config.S3_ENDPOINT ?? `local object store ${objectServer?.endpoint} (.data/objects)`}`,
    ...(token ? ['', 'Development token for user "dev-user" (send as "Authorization: Bearer <token>"):', token] : []),
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    for (const stop of stops) await stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
    await telemetry.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Parley failed to start: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
});
