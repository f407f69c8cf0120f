import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDatabase, type Database } from '../../platform/db/orm.ts';
import { createLogger } from '../../platform/logger.ts';
import { createObjectStore, type ObjectStore } from '../../platform/objects.ts';
import { sessionsSubgraph } from '../../subgraphs/sessions/definition.ts';
import { createRetention } from '../../subgraphs/sessions/retention.ts';
import { createStorageJobs } from '../../subgraphs/sessions/storage-jobs.ts';
import type { StorageLimits } from '../../subgraphs/sessions/storage-limits.ts';
import { ROOT } from '../support/env.ts';
import { createTestDatabase, testConfig } from '../support/stack.ts';

const DAY = 24 * 60 * 60 * 1000;
const logger = createLogger({ service: 'test', level: 'silent' });
const limits = { retentionMaxAgeDays: 90, retentionBatchSize: 10 };

interface Line {
  id: string;
  content: string;
  owner_id: string;
  attachments: { id: string }[];
}

describe('retention of old messages to gzip NDJSON in object storage', () => {
  const config = testConfig();
  let url: string;
  let db: Database;
  let sql: pg.Client;
  let objects: ObjectStore;

  /** A session of `owner` with `old` messages 100 days old and `recent` ones from today. */
  async function seed(owner: string, old: number, recent: number) {
    const sessionId = randomUUID();
    await sql.query(
      `insert into sessions.sessions (id, owner_id, title, created_at, updated_at) values ($1, $2, 'seeded', now(), now())`,
      [sessionId, owner],
    );
    const ids = { old: [] as string[], recent: [] as string[] };
    // Per-session positions, when the messages table keeps them (sessions core).
    const { rows: seq } = await sql.query(
      `select 1 from information_schema.columns where table_schema = 'sessions' and table_name = 'messages' and column_name = 'seq'`,
    );
    for (let i = 0; i < old + recent; i += 1) {
      const id = randomUUID();
      const at = i < old ? new Date(Date.now() - 100 * DAY + i * 1000) : new Date(Date.now() - i * 1000);
      await sql.query(
        `insert into sessions.messages (id, session_id, owner_id, role, content, created_at${seq.length ? ', seq' : ''})
         values ($1, $2, $3, 'user', $4, $5${seq.length ? ', $6' : ''})`,
        [id, sessionId, owner, `${owner} message ${i}`, at, ...(seq.length ? [i + 1] : [])],
      );
      (i < old ? ids.old : ids.recent).push(id);
    }
    return { sessionId, ...ids };
  }

  async function archivedLines(keys: string[]): Promise<Line[]> {
    const lines: Line[] = [];
    for (const key of keys) {
      const text = gunzipSync(await objects.get(key)).toString('utf8');
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Line);
    }
    return lines;
  }

  async function runKeys(): Promise<string[]> {
    const { rows } = await sql.query<{ object_key: string }>(
      `select object_key from sessions.retention_batches where status = 'archived' order by run_id, seq`,
    );
    return rows.map((r) => r.object_key);
  }

  const remaining = async (ids: string[]) =>
    Number(
      (
        await sql.query<{ n: string }>(
          `select count(*)::text as n from sessions.messages where id = any($1::uuid[])`,
          [ids],
        )
      ).rows[0]!.n,
    );

  beforeAll(async () => {
    url = (await createTestDatabase()).url;
    const { schema, entities, migrations } = sessionsSubgraph;
    db = await createDatabase({ url, schema, entities, migrations, logger, poolSize: 3 });
    sql = new pg.Client({ connectionString: url });
    await sql.connect();
    objects = createObjectStore({
      endpoint: config.S3_ENDPOINT!,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: config.S3_SECRET_KEY,
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
    });
    await objects.ensureBucket();
  });
  afterAll(async () => {
    await sql?.end();
    await db?.close();
  });

  it('resumes a run that failed between upload and delete and archives every old message exactly once', async () => {
    const alice = await seed('alice', 17, 3);
    const bob = await seed('bob', 8, 2);
    const attachmentId = randomUUID();
    await sql.query(
      `insert into sessions.attachments (id, session_id, message_id, owner_id, object_key, filename, content_type,
         size_bytes, sha256, status, created_at, confirmed_at)
       values ($1, $2, $3, 'alice', $4, 'a.txt', 'text/plain', 1, $5, 'ready', now(), now())`,
      [
        attachmentId,
        alice.sessionId,
        alice.old[0],
        `attachments/${alice.sessionId}/${attachmentId}`,
        'a'.repeat(64),
      ],
    );

    const crashing = createRetention({
      db,
      objects,
      logger,
      limits,
      afterUpload: (batch) =>
        batch.seq === 2 ? Promise.reject(new Error('crash after upload')) : Promise.resolve(),
    });
    await expect(crashing.run()).rejects.toThrow('crash after upload');
    // Batch 1 is archived and deleted; batch 2 was written but its rows are still here.
    expect(await remaining([...alice.old, ...bob.old])).toBe(15);
    const { rows: open } = await sql.query<{ seq: number; status: string }>(
      `select seq, status from sessions.retention_batches order by seq`,
    );
    expect(open).toEqual([
      { seq: 1, status: 'archived' },
      { seq: 2, status: 'pending' },
    ]);

    const resumed = await createRetention({ db, objects, logger, limits }).run();
    expect(resumed.runId).toBeTruthy();
    expect(resumed.batches).toBe(2); // batch 2 again (same key) and batch 3
    expect(await remaining([...alice.old, ...bob.old])).toBe(0);
    expect(await remaining([...alice.recent, ...bob.recent])).toBe(5);

    const keys = await runKeys();
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    const lines = await archivedLines(keys);
    const archivedIds = lines.map((l) => l.id).sort();
    expect(archivedIds).toEqual([...alice.old, ...bob.old].sort());
    expect(lines.find((l) => l.id === alice.old[0])).toMatchObject({
      content: 'alice message 0',
      owner_id: 'alice',
      attachments: [{ id: attachmentId }],
    });
    const { rows: attachment } = await sql.query<{ status: string }>(
      'select status from sessions.attachments where id = $1',
      [attachmentId],
    );
    expect(attachment).toEqual([{ status: 'archived' }]);
    const { rows: run } = await sql.query<{ status: string; message_count: number; batch_count: number }>(
      'select status, message_count, batch_count from sessions.retention_runs',
    );
    expect(run).toEqual([{ status: 'done', message_count: 25, batch_count: 3 }]);
    const { rows: events } = await sql.query<{ payload: string }>(
      `select payload from sessions.outbox where payload::jsonb ->> 'type' = 'messages.archived'`,
    );
    const perUser = new Map<string, number>();
    for (const { payload } of events) {
      const event = JSON.parse(payload) as { userId: string; data: { messageCount: number } };
      perUser.set(event.userId, (perUser.get(event.userId) ?? 0) + event.data.messageCount);
    }
    expect(Object.fromEntries(perUser)).toEqual({ alice: 17, bob: 8 });

    const again = await createRetention({ db, objects, logger, limits }).run();
    expect(again).toMatchObject({ batches: 0, messages: 0 });
  });

  it('waits for the lease of a worker that was killed, then takes its run over', async () => {
    const carol = await seed('carol', 12, 1);
    const killed = createRetention({
      db,
      objects,
      logger,
      limits,
      workerId: 'killed-worker',
      afterUpload: () => Promise.reject(new Error('killed')),
    });
    await expect(killed.run()).rejects.toThrow('killed');
    // A killed process never gets to release its lease.
    await sql.query(
      `update sessions.retention_runs set lease_owner = 'killed-worker', lease_until = now() + interval '1 second'
       where status = 'running'`,
    );
    const other = createRetention({ db, objects, logger, limits });
    expect((await other.run()).skipped).toContain('killed-worker');
    await new Promise((r) => setTimeout(r, 1200));
    const taken = await other.run();
    expect(taken.messages).toBe(12);
    expect(await remaining(carol.old)).toBe(0);
    expect(await remaining(carol.recent)).toBe(1);
    const lines = await archivedLines(taken.objectKeys);
    expect(lines.map((l) => l.id).sort()).toEqual([...carol.old].sort());
  });

  it('resumes after the archiving process was SIGKILLed between upload and delete', async () => {
    const frank = await seed('frank', 25, 2);
    const child = spawn(process.execPath, [join(ROOT, 'test/support/retention-process.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        S3_BUCKET: config.S3_BUCKET,
        STOP_AT_BATCH: '2',
        LEASE_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const uploaded = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = /uploaded 2 (\S+)/.exec(out);
        if (line) resolve(line[1]!);
      });
      child.once('exit', (code) => reject(new Error(`retention process exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await exited;
    // Batch 2's object exists and its rows are still here: the kill landed between the two steps.
    expect(await objects.stat(uploaded)).not.toBeNull();
    expect(await remaining(frank.old)).toBe(15);

    const resumed = createRetention({ db, objects, logger, limits });
    expect((await resumed.run()).skipped).toContain('doomed-worker'); // its lease still runs
    await new Promise((r) => setTimeout(r, 1600));
    const result = await resumed.run();
    expect(result.objectKeys[0]).toBe(uploaded); // the open batch, written again under its key
    expect(await remaining(frank.old)).toBe(0);
    expect(await remaining(frank.recent)).toBe(2);
    const { rows } = await sql.query<{ object_key: string }>(
      `select object_key from sessions.retention_batches where run_id = $1 order by seq`,
      [result.runId],
    );
    const lines = await archivedLines(rows.map((r) => r.object_key));
    expect(lines.map((l) => l.id).sort()).toEqual([...frank.old].sort());
  });

  it('runs from the CLI: npm run parley -- retention run', async () => {
    const dave = await seed('dave', 3, 1);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'platform/cli/main.ts'), 'retention', 'run'],
      {
        env: {
          ...process.env,
          DATABASE_URL: url,
          S3_BUCKET: config.S3_BUCKET,
          RETENTION_BATCH_SIZE: '2',
          LOG_LEVEL: 'error',
        },
      },
    );
    const result = JSON.parse(stdout) as { messages: number; batches: number; objectKeys: string[] };
    expect(result).toMatchObject({ messages: 3, batches: 2 });
    expect(await remaining(dave.old)).toBe(0);
    expect((await archivedLines(result.objectKeys)).map((l) => l.id).sort()).toEqual([...dave.old].sort());
  });

  it('runs the whole storage round: expired exports go, retention archives, recent data stays', async () => {
    const erin = await seed('erin', 2, 2);
    const oldExport = { id: randomUUID(), key: `exports/old/${randomUUID()}.json` };
    const newExport = { id: randomUUID(), key: `exports/new/${randomUUID()}.json` };
    for (const [record, age] of [
      [oldExport, '8 days'],
      [newExport, '1 hour'],
    ] as const) {
      await objects.put(record.key, '{}', 'application/json');
      await sql.query(
        `insert into sessions.exports (id, owner_id, object_key, format, session_id, session_count, message_count, created_at)
         values ($1, 'erin', $2, 'JSON', null, 0, 0, now() - $3::interval)`,
        [record.id, record.key, age],
      );
    }
    const full: StorageLimits = {
      attachmentMaxBytes: 1000,
      attachmentContentTypes: ['text/plain'],
      uploadUrlTtlSeconds: 60,
      pendingUploadMaxAgeSeconds: 3600,
      downloadUrlTtlSeconds: 60,
      exportUrlTtlSeconds: 60,
      exportMaxAgeSeconds: 7 * 24 * 3600,
      importMaxBytes: 1000,
      retentionMaxAgeDays: 90,
      retentionBatchSize: 10,
      jobsIntervalSeconds: 0,
    };
    await createStorageJobs({ db, objects, logger, limits: full }).runOnce();
    expect(await objects.stat(oldExport.key)).toBeNull();
    expect(await objects.stat(newExport.key)).not.toBeNull();
    const { rows } = await sql.query<{ id: string }>(
      `select id from sessions.exports where owner_id = 'erin'`,
    );
    expect(rows).toEqual([{ id: newExport.id }]);
    expect(await remaining(erin.old)).toBe(0);
    expect(await remaining(erin.recent)).toBe(2);
  });
});
