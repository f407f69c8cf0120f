import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDatabase } from '../../platform/db/orm.ts';
import { newEvent, type EventEnvelope } from '../../platform/events/envelope.ts';
import { createLogger } from '../../platform/logger.ts';
import { createNextOccurrence } from '../../processors/recurrence.ts';
import { tasksEntities } from '../../subgraphs/tasks/entities.ts';
import { tasksMigrations } from '../../subgraphs/tasks/migrations.ts';
import { asMessage } from '../support/effects.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

describe('recurring tasks', () => {
  let stack: TestStack;
  let alice: string;
  let sql: pg.Client;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    alice = await stack.token('alice');
    sql = new pg.Client({ connectionString: stack.databaseUrl });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await stack?.stop();
  });

  const createRecurring = async (input: Record<string, unknown>) => {
    const r = await stack.gql<{ createTask: { id: string; seriesId: string } }>(
      alice,
      'mutation ($input: CreateTaskInput!) { createTask(input: $input) { id seriesId } }',
      { input },
    );
    expect(r.errors).toBeUndefined();
    return r.data!.createTask;
  };
  const complete = (id: string) =>
    stack.gql(alice, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', { id });
  const series = async (seriesId: string) =>
    (
      await sql.query<{ id: string; status: string; due: string }>(
        `select id, status, to_char(due_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') as due
           from tasks.tasks where series_id = $1 order by occurrence_at`,
        [seriesId],
      )
    ).rows;
  const occurrence = async (seriesId: string, count: number) =>
    eventually(async () => {
      const rows = await series(seriesId);
      return rows.length === count ? rows : undefined;
    });
  const dueLocal = async (id: string) =>
    (
      await stack.gql<{ task: { dueLocal: string } }>(
        alice,
        'query ($id: ID!) { task(id: $id) { dueLocal } }',
        { id },
      )
    ).data!.task.dueLocal;

  it('creates the next occurrence on completion, at 09:00 Berlin time across the March DST change', async () => {
    const first = await createRecurring({
      title: 'Stand-up',
      dueAt: '2026-03-27T08:00:00Z',
      timezone: 'Europe/Berlin',
      rrule: 'FREQ=DAILY',
      reminders: [{ beforeDue: 300 }],
    });
    await complete(first.id);
    const two = await occurrence(first.seriesId, 2);
    expect(two.map((t) => [t.status, t.due])).toEqual([
      ['done', '2026-03-27T08:00Z'],
      ['open', '2026-03-28T08:00Z'],
    ]);
    await complete(two[1]!.id);
    const three = await occurrence(first.seriesId, 3);
    expect(three[2]!.due).toBe('2026-03-29T07:00Z');
    expect(await dueLocal(three[2]!.id)).toBe('2026-03-29T09:00:00+02:00[Europe/Berlin]');
    // The relative reminder moves along with each occurrence.
    const reminders = await stack.gql<{ task: { reminders: { at: string; beforeDue: number }[] } }>(
      alice,
      'query ($id: ID!) { task(id: $id) { reminders { at beforeDue } } }',
      { id: three[2]!.id },
    );
    expect(reminders.data!.task.reminders).toEqual([{ at: '2026-03-29T06:55:00.000Z', beforeDue: 300 }]);
  });

  it('keeps a weekly Monday 08:30 in New York at 08:30 local after clocks go back', async () => {
    const first = await createRecurring({
      title: 'Weekly review',
      dueAt: '2026-10-26T12:30:00Z',
      timezone: 'America/New_York',
      rrule: 'RRULE:FREQ=WEEKLY;BYDAY=MO',
    });
    await complete(first.id);
    const [, next] = await occurrence(first.seriesId, 2);
    expect(next!.due).toBe('2026-11-02T13:30Z');
    expect(await dueLocal(next!.id)).toBe('2026-11-02T08:30:00-05:00[America/New_York]');
  });

  it('creates one next occurrence when the completion is redelivered three times, retried and raced by two processors', async () => {
    const first = await createRecurring({
      title: 'Pay rent',
      dueAt: '2026-12-01T09:00:00Z',
      rrule: 'FREQ=MONTHLY;BYMONTHDAY=1',
    });
    await complete(first.id);
    await occurrence(first.seriesId, 2);
    const [original] = (
      await eventually(async () => {
        const r = await sql.query<{ event_id: string; occurred_at: Date }>(
          "select event_id, occurred_at from audit.records where action = 'task.completed' and entity_id = $1",
          [first.id],
        );
        return r.rows.length === 1 ? r.rows : undefined;
      })
    ).map((row): EventEnvelope => ({
      ...newEvent({
        type: 'task.completed',
        source: 'tasks',
        subject: first.id,
        userId: 'alice',
        data: { taskId: first.id },
      }),
      id: row.event_id,
      time: row.occurred_at.toISOString(),
    }));
    // The very same event three times, and three retries that carry new event ids.
    const retries = [1, 2, 3].map(() =>
      newEvent({
        type: 'task.completed',
        source: 'tasks',
        subject: first.id,
        userId: 'alice',
        data: { taskId: first.id },
      }),
    );
    await stack.parley.transport.publish([original!, original!, original!, ...retries].map(asMessage));
    // Two processors (not sharing processed_events) handle the completion at the same moment.
    const logger = createLogger({ service: 'test', level: 'error' });
    const db = await createDatabase({
      url: stack.databaseUrl,
      schema: 'tasks',
      entities: tasksEntities,
      migrations: tasksMigrations,
      logger,
    });
    try {
      await Promise.all(
        [1, 2].map(() => db.fork().transactional((tx) => createNextOccurrence(retries[0]!, tx))),
      );
    } finally {
      await db.close();
    }
    const consumer = `${stack.config.KAFKA_TOPIC_PREFIX}task-recurrence`;
    await eventually(async () => {
      const r = await sql.query<{ n: number }>(
        'select count(*)::int as n from tasks.processed_events where consumer = $1 and event_id = any($2::uuid[])',
        [consumer, retries.map((e) => e.id)],
      );
      return r.rows[0]?.n === 3 ? true : undefined;
    });
    const rows = await series(first.seriesId);
    expect(rows.map((t) => [t.status, t.due])).toEqual([
      ['done', '2026-12-01T09:00Z'],
      ['open', '2027-01-01T09:00Z'],
    ]);
    // Reopening and completing again does not add an occurrence either.
    await stack.gql(alice, 'mutation ($id: ID!) { reopenTask(id: $id) { id } }', { id: first.id });
    await complete(first.id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await series(first.seriesId)).toHaveLength(2);
  });
});

describe('task stats', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('counts open, overdue, due today and recently completed, and an open task turns overdue on its own', async () => {
    const ivy = await stack.token('ivy');
    const soon = new Date(Date.now() + 2_000).toISOString();
    const create = (input: Record<string, unknown>) =>
      stack.gql<{ createTask: { id: string } }>(
        ivy,
        'mutation ($input: CreateTaskInput!) { createTask(input: $input) { id } }',
        { input },
      );
    await create({ title: 'soon', dueAt: soon });
    await create({ title: 'next year', dueAt: new Date(Date.now() + 365 * 86_400_000).toISOString() });
    const done = await create({ title: 'done' });
    await stack.gql(ivy, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', {
      id: done.data!.createTask.id,
    });
    const stats = () =>
      stack.gql<{ taskStats: Record<string, number> }>(
        ivy,
        '{ taskStats(timezone: "UTC") { open overdue dueToday completedLast7Days } }',
      );
    const before = await eventually(async () => {
      const r = (await stats()).data!.taskStats;
      return r.open === 2 && r.completedLast7Days === 1 ? r : undefined;
    });
    expect(before.overdue).toBe(0);
    const sameDay = soon.slice(0, 10) === new Date().toISOString().slice(0, 10);
    expect(before.dueToday).toBe(sameDay ? 1 : 0);
    const after = await eventually(async () => {
      const r = (await stats()).data!.taskStats;
      return r.overdue === 1 ? r : undefined;
    });
    expect(after).toMatchObject({ open: 2, overdue: 1, completedLast7Days: 1 });
    const other = await stack.gql<{ taskStats: Record<string, number> }>(
      await stack.token('jack'),
      '{ taskStats { open overdue dueToday completedLast7Days } }',
    );
    expect(other.data!.taskStats).toEqual({ open: 0, overdue: 0, dueToday: 0, completedLast7Days: 0 });
  });
});
