import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { ADMIN_DATABASE_URL, ROOT, RUN_PREFIX } from './env.ts';

export default async function globalTeardown() {
  if (process.env.PARLEY_TEST_KAFKA_DIR) {
    const broker = join(ROOT, 'test/infra/kafka/broker.sh');
    try {
      execFileSync(broker, ['stop', process.env.PARLEY_TEST_KAFKA_DIR], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      // A broker slow to shut down on a loaded machine is killed rather than left running.
      process.stderr.write(
        `kafka broker did not stop cleanly (${(error as Error).message.split('\n')[0]}); killing it\n`,
      );
      execFileSync(broker, ['kill', process.env.PARLEY_TEST_KAFKA_DIR], { stdio: 'ignore' });
    }
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
