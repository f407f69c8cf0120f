import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../platform/db/orm.ts';
import { createLogger } from '../../platform/logger.ts';
import { startLocalObjectStore } from '../../platform/embedded.ts';
import { databaseOwners } from '../../schema/owners.ts';
import { domainTopics } from '../../schema/events/topics.ts';
import { createKafkaTransport } from '../../platform/events/kafka-transport.ts';
import {
  ADMIN_DATABASE_URL,
  ROOT,
  RUN_DIR,
  STALE_AFTER_SECONDS,
  TEMPLATE_DB,
  databaseUrlFor,
} from './env.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Builds the migrated template every test file's database is copied from. */
async function createTemplate() {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  // Databases left by runs that were killed long ago are removed; running ones are not touched.
  const all = await admin.query<{ datname: string }>(
    `select datname from pg_database where starts_with(datname, 'parley_test_')`,
  );
  const cutoff = Math.floor(Date.now() / 1000) - STALE_AFTER_SECONDS;
  for (const { datname } of all.rows) {
    const started = Number(/^parley_test_(\d+)_/.exec(datname)?.[1] ?? 0);
    if (started < cutoff) await admin.query(`drop database if exists "${datname}" with (force)`);
  }
  await admin.query(`create database "${TEMPLATE_DB}"`);
  await admin.end();
  const logger = createLogger({ service: 'test-setup', level: 'warn' });
  const url = databaseUrlFor(TEMPLATE_DB);
  for (const owner of databaseOwners) {
    const db = await createDatabase({ url, logger, poolSize: 1, ...owner });
    await db.migrate();
    await db.close();
  }
}

/**
 * A fresh broker creates its group-coordinator topic on first use; doing that once here
 * keeps the first test files from racing it (and timing out) in parallel.
 */
async function warmUpKafka(brokers: string) {
  const logger = createLogger({ service: 'test-setup', level: 'silent' });
  // On a loaded machine the coordinator may still be loading or moving: retry a while.
  for (let attempt = 1; ; attempt += 1) {
    const transport = createKafkaTransport({
      brokers: [brokers],
      clientId: 'warm-up',
      topicPrefix: 'warmup.',
      logger,
    });
    try {
      await transport.ensureTopics(domainTopics.slice(0, 1), 'create');
      const sub = await transport.subscribe({
        groupId: 'warm-up',
        topics: [domainTopics[0]!.name],
        fromBeginning: false,
        handle: async () => undefined,
      });
      await sub.stop();
      return;
    } catch (error) {
      if (attempt >= 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      await transport.stop().catch(() => undefined);
    }
  }
}

export default async function globalSetup() {
  const started = Date.now();
  rmSync(RUN_DIR, { recursive: true, force: true });
  mkdirSync(RUN_DIR, { recursive: true });
  await createTemplate();

  if (!process.env.KAFKA_BROKERS) {
    const port = await freePort();
    const broker = join(ROOT, 'test/infra/kafka/broker.sh');
    execFileSync(broker, ['start', String(port), join(RUN_DIR, 'kafka')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    process.env.KAFKA_BROKERS = `127.0.0.1:${port}`;
    await warmUpKafka(process.env.KAFKA_BROKERS);
    process.env.PARLEY_TEST_KAFKA_DIR = join(RUN_DIR, 'kafka');
    process.env.PARLEY_TEST_KAFKA_PORT = String(port);
  }
  if (!process.env.S3_ENDPOINT) {
    const logger = createLogger({ service: 'test-setup', level: 'warn' });
    const store = await startLocalObjectStore(join(RUN_DIR, 's3'), logger);
    process.env.S3_ENDPOINT = store.endpoint;
    process.env.S3_ACCESS_KEY = store.accessKey;
    process.env.S3_SECRET_KEY = store.secretKey;
    (globalThis as { __parleyS3?: { stop(): Promise<void> } }).__parleyS3 = store;
  }
  process.stderr.write(
    `\ntest set-up ready in ${((Date.now() - started) / 1000).toFixed(1)} s (Kafka ${process.env.KAFKA_BROKERS}, S3 ${process.env.S3_ENDPOINT})\n`,
  );
}
