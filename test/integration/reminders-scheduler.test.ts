import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../../platform/db/orm.ts';
import { createLogger } from '../../platform/logger.ts';
import { createReminderScheduler, type ReminderScheduler } from '../../processors/reminder-scheduler.ts';
import { tasksEntities } from '../../subgraphs/tasks/entities.ts';
import { tasksMigrations } from '../../subgraphs/tasks/migrations.ts';
import { createTestDatabase, eventually } from '../support/stack.ts';

/** The scheduler on real Postgres: what it writes to the tasks outbox is what gets published. */
describe('the reminder scheduler', () => {
  let url: string;
  let sql: pg.Client;
  const logger = createLogger({ service: 'test', level: 'error' });
  const databases: Database[] = [];
  const schedulers: ReminderScheduler[] = [];

  const openDb = async () => {
    const db = await createDatabase({
      url,
      schema: 'tasks',
      entities: tasksEntities,
      migrations: tasksMigrations,
      logger,
    });
    databases.push(db);
    return db;
  };
  const scheduler = async () => {
    const s = createReminderScheduler({ db: await openDb(), logger, wakeRelay: () => undefined });
    schedulers.push(s);
    return s;
  };

  beforeAll(async () => {
    ({ url } = await createTestDatabase());
    sql = new pg.Client({ connectionString: url });
    await sql.connect();
  });
  afterAll(async () => {
    for (const s of schedulers) await s.stop();
    for (const db of databases) await db.close();
    await sql?.end();
  });

  /** A task of `owner` with one reminder per time; returns the reminder ids. */
  async function seed(owner: string, times: Date[]): Promise<string[]> {
    const taskId = randomUUID();
    await sql.query(
      "insert into tasks.tasks (id, owner_id, title, created_at) values ($1, $2, 'Seeded', now())",
      [taskId, owner],
    );
    const ids = times.map(() => randomUUID());
    await sql.query(
      `insert into tasks.reminders (id, task_id, owner_id, remind_at)
       select x.id::uuid, $1, $2, x.at::timestamptz from jsonb_to_recordset($3::jsonb) as x(id text, at text)`,
      [taskId, owner, JSON.stringify(ids.map((id, i) => ({ id, at: times[i]!.toISOString() })))],
    );
    return ids;
  }

  const fired = async (ids: string[]) =>
    (
      await sql.query<{ id: string; late: boolean; lateness_ms: number }>(
        `select id, late, (extract(epoch from fired_at - remind_at) * 1000)::float8 as lateness_ms
           from tasks.reminders where id = any($1::uuid[]) and fired_at is not null`,
        [ids],
      )
    ).rows;

  const events = async (ids: string[]) =>
    (
      await sql.query<{ subject: string; late: boolean }>(
        `select payload::jsonb->>'subject' as subject, (payload::jsonb->'data'->>'late')::boolean as late
           from tasks.outbox where headers->>'ce_type' = 'task.reminder' and payload::jsonb->>'subject' = any($1::text[])`,
        [ids],
      )
    ).rows;

  it('fires what fell due while it was down as soon as it starts, marked late', async () => {
    const now = Date.now();
    const missed = await seed('erin', [new Date(now - 3_600_000), new Date(now - 60_000)]);
    const [ahead] = await seed('erin', [new Date(now + 3_600_000)]);
    const s = await scheduler();
    await s.start();
    const rows = await eventually(async () => {
      const r = await fired(missed);
      return r.length === 2 ? r : undefined;
    });
    expect(rows.every((r) => r.late)).toBe(true);
    expect((await events(missed)).map((e) => e.late)).toEqual([true, true]);
    expect(await fired([ahead!])).toEqual([]);
    await s.stop();
  });

  it('wakes at the due time of the earliest reminder, not on a coarse tick', async () => {
    const at = new Date(Date.now() + 1_500);
    const ids = await seed('frank', [at]);
    // A 10 s poll: only the timer armed for the earliest reminder can fire it on time.
    const s = createReminderScheduler({
      db: await openDb(),
      logger,
      wakeRelay: () => undefined,
      pollMs: 10_000,
    });
    schedulers.push(s);
    await s.start();
    const [row] = await eventually(async () => {
      const r = await fired(ids);
      return r.length === 1 ? r : undefined;
    });
    expect(row!.late).toBe(false);
    expect(row!.lateness_ms).toBeGreaterThanOrEqual(0);
    expect(row!.lateness_ms).toBeLessThan(1_000);
    await s.stop();
  });

  it('fires each reminder exactly once when two schedulers run', async () => {
    const a = await scheduler();
    const b = await scheduler();
    const base = Date.now() + 1_000;
    const ids = await seed(
      'gina',
      Array.from({ length: 600 }, (_, i) => new Date(base + (i % 60) * 20)),
    );
    await Promise.all([a.start(), b.start()]);
    await eventually(async () => ((await fired(ids)).length === 600 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const published = await events(ids);
    expect(published).toHaveLength(600);
    expect(new Set(published.map((e) => e.subject)).size).toBe(600);
    // Each fired reminder became one notification, with gapless positions 1..600 for the user.
    const notes = await sql.query<{ n: number; distinct_seq: number; max_seq: number }>(
      "select count(*)::int as n, count(distinct seq)::int as distinct_seq, max(seq)::int as max_seq from tasks.notifications where owner_id = 'gina'",
    );
    expect(notes.rows[0]).toEqual({ n: 600, distinct_seq: 600, max_seq: 600 });
    // Nothing is left for either: each reminder was claimed once, by one of them.
    const again = await Promise.all([a.fireDue(), b.fireDue()]);
    expect(again).toEqual([0, 0]);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('never fires a suspended (completed task) reminder', async () => {
    const ids = await seed('hank', [new Date(Date.now() - 1_000)]);
    await sql.query('update tasks.reminders set cancelled_at = now() where id = $1', [ids[0]]);
    const s = await scheduler();
    await s.start();
    expect(await s.fireDue()).toBe(0);
    expect(await fired(ids)).toEqual([]);
    await s.stop();
  });
});
