import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase } from '../platform/db/orm.ts';
import { startLocalObjectStore } from '../platform/embedded.ts';
import { createLogger } from '../platform/logger.ts';
import { createObjectStore } from '../platform/objects.ts';
import { sha256Of } from '../subgraphs/sessions/attachments.ts';
import { sessionsSubgraph } from '../subgraphs/sessions/definition.ts';
import { collectSessions, toMarkdown } from '../subgraphs/sessions/export.ts';
import { createRetention } from '../subgraphs/sessions/retention.ts';
import { machine } from './support.ts';

/**
 * `npm run bench:storage`: sessions storage figures on the real Postgres and s3rver (no broker):
 * SHA-256 verification of an uploaded attachment, building an export, and retention throughput.
 * MESSAGES (default 50 000) old messages are archived in batches of BATCH (default 1000).
 */
const MESSAGES = Number(process.env.MESSAGES ?? 50_000);
const BATCH = Number(process.env.BATCH ?? 1000);
const logger = createLogger({ service: 'bench-storage', level: 'error' });
const admin = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `parley_bench_storage_${Date.now()}`;
const runDir = join(import.meta.dirname, '..', '.test-run', 'bench-storage');

const client = new pg.Client({ connectionString: admin });
await client.connect();
await client.query(`create database "${dbName}"`);
const url = new URL(admin);
url.pathname = `/${dbName}`;
const { schema, entities, migrations } = sessionsSubgraph;
const db = await createDatabase({ url: url.toString(), schema, entities, migrations, logger, poolSize: 4 });
await db.migrate();
const server = await startLocalObjectStore(join(runDir, 's3'), logger);
const objects = createObjectStore({ ...server, bucket: 'bench', region: 'us-east-1' });
await objects.ensureBucket();
const sql = new pg.Client({ connectionString: url.toString() });
await sql.connect();

try {
  console.log(`machine: ${machine()}`);
  // 1. Confirming an attachment: the object is streamed through SHA-256.
  for (const mib of [1, 25]) {
    const body = randomBytes(mib * 1024 * 1024);
    await objects.put(`bench/${mib}`, body);
    const started = performance.now();
    const digest = await sha256Of(objects, `bench/${mib}`);
    const ms = performance.now() - started;
    if (digest !== createHash('sha256').update(body).digest('hex')) throw new Error('digest mismatch');
    console.log(
      `confirm checksum of ${mib} MiB: ${ms.toFixed(0)} ms (${((mib / ms) * 1000).toFixed(0)} MiB/s)`,
    );
  }

  // 2. Seed: one session per 100 messages, 300-character contents, all 100 days old.
  await sql.query(
    `insert into sessions.sessions (id, owner_id, title, created_at, updated_at)
     select gen_random_uuid(), 'user-' || (g % 50), 'session ' || g, now() - interval '101 days', now()
     from generate_series(1, $1::int) g`,
    [Math.ceil(MESSAGES / 100)],
  );
  const { rows: seq } = await sql.query(
    `select 1 from information_schema.columns where table_schema = 'sessions' and table_name = 'messages' and column_name = 'seq'`,
  );
  await sql.query(
    `insert into sessions.messages (id, session_id, owner_id, role, content, created_at${seq.length ? ', seq' : ''})
     select gen_random_uuid(), s.id, s.owner_id, 'user', repeat('x', 300), now() - interval '100 days' + g * interval '1 ms'${seq.length ? ', g' : ''}
     from sessions.sessions s cross join generate_series(1, 100) g`,
  );

  // 3. Export of one user's sessions (about 1/50 of the messages).
  const exportStarted = performance.now();
  const document = await collectSessions(db.fork(), 'user-1', null);
  const json = JSON.stringify(document);
  const markdown = toMarkdown(document);
  const count = document.sessions.reduce((n, s) => n + s.messages.length, 0);
  console.log(
    `export of ${count} messages: ${(performance.now() - exportStarted).toFixed(0)} ms (JSON ${(json.length / 1024 / 1024).toFixed(1)} MiB, Markdown ${(markdown.length / 1024 / 1024).toFixed(1)} MiB)`,
  );

  // 4. Retention of every message.
  const started = performance.now();
  const result = await createRetention({
    db,
    objects,
    logger,
    limits: { retentionMaxAgeDays: 90, retentionBatchSize: BATCH },
  }).run();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `retention: ${result.messages} messages in ${result.batches} batches of ${BATCH}, ${seconds.toFixed(1)} s (${(result.messages / seconds).toFixed(0)} messages/s)`,
  );
} finally {
  await sql.end();
  await db.close();
  await server.stop();
  rmSync(runDir, { recursive: true, force: true });
  await client.query(`drop database if exists "${dbName}" with (force)`);
  await client.end();
}
