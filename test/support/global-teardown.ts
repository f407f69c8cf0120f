import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { ADMIN_DATABASE_URL, ROOT, RUN_PREFIX } from './env.ts';

export default async function globalTeardown() {
  if (process.env.PARLEY_TEST_KAFKA_DIR) {
    // The run's broker and its data are thrown away: a clean shutdown would only cost time.
    execFileSync(join(ROOT, 'test/infra/kafka/broker.sh'), ['kill', process.env.PARLEY_TEST_KAFKA_DIR], {
      stdio: 'ignore',
    });
  }
  await (globalThis as { __parleyS3?: { stop(): Promise<void> } }).__parleyS3?.stop();
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  const dbs = await admin.query<{ datname: string }>(
    `select datname from pg_database where starts_with(datname, $1)`,
    [RUN_PREFIX],
  );
  for (const { datname } of dbs.rows) await admin.query(`drop database if exists "${datname}" with (force)`);
  await admin.end();
}
