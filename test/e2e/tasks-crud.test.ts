import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

const TASK_FIELDS =
  'id title description status priority labels dueAt dueLocal timezone completedAt cancelledAt';

describe('tasks through the router, for two users', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  let db: pg.Client;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded' });
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  const create = async (token: string, input: Record<string, unknown>) => {
    const r = await stack.gql<{ createTask: Record<string, unknown> & { id: string } }>(
      token,
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { ${TASK_FIELDS} } }`,
      { input },
    );
    expect(r.errors).toBeUndefined();
    return r.data!.createTask;
  };

  it('creates a task with every field and reads its due time in the user’s zone', async () => {
    const t = await create(alice, {
      title: '  Renew passport ',
      description: 'Bring photos',
      priority: 1,
      labels: ['admin', 'travel', 'admin'],
      dueAt: '2027-03-01T08:00:00Z',
      timezone: 'Europe/Berlin',
    });
    expect(t).toMatchObject({
      title: 'Renew passport',
      description: 'Bring photos',
      status: 'open',
      priority: 1,
      labels: ['admin', 'travel'],
      dueAt: '2027-03-01T08:00:00.000Z',
      dueLocal: '2027-03-01T09:00:00+01:00[Europe/Berlin]',
      timezone: 'Europe/Berlin',
    });
  });

  it('turns chatbot text into a due time and says what it understood', async () => {
    const parsed = await stack.gql<{ parseDue: { at: string; interpreted: string; matched: string } }>(
      alice,
      '{ parseDue(text: "remind me tomorrow at 9am", timezone: "America/New_York") { at matched interpreted timezone } }',
    );
    expect(parsed.errors).toBeUndefined();
    expect(parsed.data!.parseDue.matched).toBe('tomorrow at 9am');
    expect(parsed.data!.parseDue.interpreted).toMatch(/T09:00:00-0[45]:00\[America\/New_York\]$/);
    const t = await create(alice, {
      title: 'Call mum',
      dueText: 'tomorrow at 9am',
      timezone: 'America/New_York',
    });
    expect(t.dueAt).toBe(parsed.data!.parseDue.at);
    const none = await stack.gql(alice, '{ parseDue(text: "whenever", timezone: "UTC") { at } }');
    expect(none.data).toEqual({ parseDue: null });
  });

  it('refuses bad input with BAD_USER_INPUT naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ title: '   ' }, 'title'],
      [{ title: 'x'.repeat(501) }, 'title'],
      [{ title: 'p', priority: 5 }, 'priority'],
      [{ title: 'z', timezone: 'Mars/Base' }, 'timezone'],
      [{ title: 'r', rrule: 'FREQ=DAILY' }, 'rrule'],
      [{ title: 'r', dueAt: '2027-01-01T00:00:00Z', rrule: 'FREQ=SECONDLY' }, 'rrule'],
      [{ title: 'd', dueText: 'blorp' }, 'dueText'],
      [{ title: 'm', reminders: [{ beforeDue: 60 }] }, 'reminders'],
      [{ title: 'l', labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }, 'labels'],
      [{ title: 's', sessionId: 'nope' }, 'sessionId'],
    ];
    for (const [input, field] of cases) {
      const r = await stack.gql(
        alice,
        'mutation ($input: CreateTaskInput!) { createTask(input: $input) { id } }',
        {
          input,
        },
      );
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('updates, completes, reopens, cancels and deletes, emitting an event for each change', async () => {
    const t = await create(alice, { title: 'Lifecycle', labels: ['x'] });
    const up = await stack.gql<{ updateTask: { title: string; priority: number; labels: string[] } }>(
      alice,
      'mutation ($id: ID!) { updateTask(id: $id, input: { title: "Lifecycle 2", priority: 2, labels: ["y"] }) { title priority labels } }',
      { id: t.id },
    );
    expect(up.data?.updateTask).toEqual({ title: 'Lifecycle 2', priority: 2, labels: ['y'] });
    for (const [op, status] of [
      ['completeTask', 'done'],
      ['completeTask', 'done'],
      ['reopenTask', 'open'],
      ['cancelTask', 'cancelled'],
    ] as const) {
      const r = await stack.gql<Record<string, { status: string }>>(
        alice,
        `mutation ($id: ID!) { ${op}(id: $id) { status } }`,
        {
          id: t.id,
        },
      );
      expect(r.data?.[op]?.status).toBe(status);
    }
    const del = await stack.gql(alice, 'mutation ($id: ID!) { deleteTask(id: $id) }', { id: t.id });
    expect(del.data).toEqual({ deleteTask: t.id });
    const gone = await stack.gql(alice, 'query ($id: ID!) { task(id: $id) { id } }', { id: t.id });
    expect(gone.data).toEqual({ task: null });
    const types = await eventually(async () => {
      const r = await db.query<{ action: string }>(
        'select action from audit.records where entity_id = $1 order by position',
        [t.id],
      );
      return r.rows.length >= 6 ? r.rows.map((x) => x.action) : undefined;
    });
    // The repeated completion changed nothing and emitted nothing.
    expect(types).toEqual([
      'task.created',
      'task.updated',
      'task.completed',
      'task.reopened',
      'task.cancelled',
      'task.deleted',
    ]);
  });

  it('lists with filters (status, due range, overdue, due today, label, session) and cursor pagination', async () => {
    const carol = await stack.token('carol');
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const session = await stack.gql<{ createSession: { id: string } }>(
      carol,
      'mutation { createSession(input: { title: "Chat" }) { id } }',
    );
    const sessionId = session.data!.createSession.id;
    const overdue = await create(carol, { title: 'overdue', dueAt: iso(now - 3_600_000), labels: ['home'] });
    const later = await create(carol, { title: 'later', dueAt: iso(now + 3 * 86_400_000), sessionId });
    const done = await create(carol, { title: 'done', labels: ['home'] });
    await stack.gql(carol, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', { id: done.id });
    const titles = async (filter: Record<string, unknown>) => {
      const r = await stack.gql<{ tasks: { edges: { node: { title: string } }[] } }>(
        carol,
        'query ($f: TaskFilter) { tasks(first: 50, filter: $f) { edges { node { title } } } }',
        { f: filter },
      );
      expect(r.errors).toBeUndefined();
      return r.data!.tasks.edges.map((e) => e.node.title).sort();
    };
    expect(await titles({ status: ['open'] })).toEqual(['later', 'overdue']);
    expect(await titles({ status: ['done'] })).toEqual(['done']);
    expect(await titles({ overdue: true })).toEqual(['overdue']);
    expect(await titles({ label: 'home' })).toEqual(['done', 'overdue']);
    expect(await titles({ sessionId })).toEqual(['later']);
    expect(await titles({ dueAfter: iso(now), dueBefore: iso(now + 4 * 86_400_000) })).toEqual(['later']);
    const today = await titles({ dueToday: true, timezone: 'UTC' });
    const overdueIsToday =
      new Date(now - 3_600_000).toISOString().slice(0, 10) === new Date(now).toISOString().slice(0, 10);
    expect(today).toEqual(overdueIsToday ? ['overdue'] : []);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const r: {
        data?: {
          tasks: {
            edges: { node: { id: string } }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        };
      } = await stack.gql(
        carol,
        'query ($after: String) { tasks(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      seen.push(...r.data!.tasks.edges.map((e) => e.node.id));
      if (!r.data!.tasks.pageInfo.hasNextPage) break;
      after = r.data!.tasks.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual([overdue.id, later.id, done.id].sort());
  });

  it('keeps subtasks under their task and resolves Session.tasks and Task.session across subgraphs', async () => {
    const s = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "Trip" }) { id } }',
    );
    const sessionId = s.data!.createSession.id;
    const parent = await create(alice, {
      title: 'Plan trip',
      sessionId,
      messageId: '00000000-0000-4000-8000-000000000001',
    });
    await create(alice, { title: 'Book train', parentId: parent.id });
    const r = await stack.gql<{
      task: {
        subtasks: { title: string }[];
        session: { title: string; tasks: { title: string }[] };
        messageId: string;
      };
    }>(
      alice,
      'query ($id: ID!) { task(id: $id) { messageId subtasks { title parent { title } } session { title tasks { title } } } }',
      { id: parent.id },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.task).toEqual({
      messageId: '00000000-0000-4000-8000-000000000001',
      subtasks: [{ title: 'Book train', parent: { title: 'Plan trip' } }],
      session: { title: 'Trip', tasks: [{ title: 'Plan trip' }] },
    });
    const nested = await create(alice, { title: 'x', parentId: parent.id });
    const deeper = await stack.gql(
      alice,
      'mutation ($p: ID!) { createTask(input: { title: "deep", parentId: $p }) { id } }',
      {
        p: nested.id,
      },
    );
    expect(deeper.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'parentId' });
  });

  it('gives user B NOT_FOUND for every change to user A’s task, null on reads, and audits the attempts', async () => {
    const t = await create(alice, { title: 'Alice only' });
    for (const mutation of [
      'mutation ($id: ID!) { updateTask(id: $id, input: { title: "mine" }) { id } }',
      'mutation ($id: ID!) { completeTask(id: $id) { id } }',
      'mutation ($id: ID!) { reopenTask(id: $id) { id } }',
      'mutation ($id: ID!) { cancelTask(id: $id) { id } }',
      'mutation ($id: ID!) { deleteTask(id: $id) }',
      'mutation ($id: ID!) { createTask(input: { title: "sub", parentId: $id }) { id } }',
    ]) {
      const r = await stack.gql(bob, mutation, { id: t.id });
      expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const read = await stack.gql(
      bob,
      'query ($id: ID!) { task(id: $id) { id } tasks(filter: { status: [open] }) { edges { node { id } } } }',
      {
        id: t.id,
      },
    );
    expect(read.data).toEqual({ task: null, tasks: { edges: [] } });
    const still = await stack.gql<{ task: { title: string; status: string } }>(
      alice,
      'query ($id: ID!) { task(id: $id) { title status } }',
      {
        id: t.id,
      },
    );
    expect(still.data?.task).toEqual({ title: 'Alice only', status: 'open' });
    // Each attempt leaves a security.access-denied event (the embedded log is the transport here).
    const denied = await eventually(async () => {
      const r = await db.query<{ n: number }>(
        "select count(*)::int as n from eventlog.messages where value like '%security.access-denied%' and value like $1",
        [`%${t.id}%`],
      );
      const n = r.rows[0]?.n ?? 0;
      return n >= 7 ? n : undefined;
    });
    expect(denied).toBeGreaterThanOrEqual(7);
  });
});
