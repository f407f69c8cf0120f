import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startTestStack, type LiveSubscription, type TestStack } from '../support/stack.ts';

const SUBSCRIPTION =
  'subscription ($after: String) { notificationAdded(after: $after) { id cursor kind title read task { id title } } }';

interface Pushed {
  id: string;
  cursor: string;
  kind: string;
  title: string;
  task: { id: string; title: string } | null;
}

const pushed = (payload: { data?: Record<string, unknown> }) => payload.data?.notificationAdded as Pushed;

describe('reminders become notifications streamed to their user only', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    alice = await stack.token('alice');
    bob = await stack.token('bob');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** A task with a reminder `inMs` from now. */
  const remindIn = async (token: string, title: string, inMs: number) => {
    const at = new Date(Date.now() + inMs).toISOString();
    const r = await stack.gql<{ createTask: { id: string } }>(
      token,
      'mutation ($t: String!, $at: DateTime!) { createTask(input: { title: $t, reminders: [{ at: $at }] }) { id } }',
      { t: title, at },
    );
    expect(r.errors).toBeUndefined();
    return { id: r.data!.createTask.id, at };
  };

  const unread = async (token: string) => {
    const r = await stack.gql<{
      notifications: { edges: { node: { id: string; title: string; cursor: string } }[] };
    }>(token, '{ notifications(first: 50, unreadOnly: true) { edges { node { id title cursor } } } }');
    return r.data!.notifications.edges.map((e) => e.node);
  };

  it('fires a reminder on time and streams it to its owner, never to another user', async () => {
    const aliceLive = await stack.subscribe(alice, SUBSCRIPTION);
    const bobLive = await stack.subscribe(bob, SUBSCRIPTION);
    const { id, at } = await remindIn(alice, 'Water the plants', 1500);
    const payload = await aliceLive.next(15_000);
    const arrived = Date.now();
    expect(pushed(payload)).toMatchObject({
      kind: 'reminder',
      title: 'Reminder: Water the plants',
      task: { id },
    });
    expect(arrived).toBeGreaterThanOrEqual(new Date(at).getTime());
    const r = await stack.gql<{ task: { reminders: { firedAt: string; late: boolean }[] } }>(
      alice,
      'query ($id: ID!) { task(id: $id) { reminders { at firedAt late } } }',
      { id },
    );
    const [reminder] = r.data!.task.reminders;
    expect(reminder?.late).toBe(false);
    const lateness = new Date(reminder!.firedAt).getTime() - new Date(at).getTime();
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(bobLive.received).toEqual([]);
    await aliceLive.close();
    await bobLive.close();
  });

  it('notifies the user of a task created for them from a chat', async () => {
    const live = await stack.subscribe(alice, SUBSCRIPTION);
    const s = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "Chat" }) { id } }',
    );
    await stack.gql(
      alice,
      'mutation ($s: ID) { createTask(input: { title: "Book dentist", sessionId: $s }) { id } }',
      {
        s: s.data!.createSession.id,
      },
    );
    expect(pushed(await live.next())).toMatchObject({
      kind: 'task_created',
      title: 'New task from chat: Book dentist',
    });
    await live.close();
  });

  it('lists unread notifications with pagination, marks them read, and keeps them from other users', async () => {
    const before = await unread(alice);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const page = await stack.gql<{
      notifications: {
        edges: { node: { id: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(alice, '{ notifications(first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } }');
    expect(page.data!.notifications.pageInfo.hasNextPage).toBe(true);
    const rest = await stack.gql<{ notifications: { edges: { node: { id: string } }[] } }>(
      alice,
      'query ($a: String) { notifications(first: 50, after: $a) { edges { node { id } } } }',
      { a: page.data!.notifications.pageInfo.endCursor },
    );
    expect(
      [...page.data!.notifications.edges, ...rest.data!.notifications.edges].map((e) => e.node.id).sort(),
    ).toEqual(before.map((n) => n.id).sort());

    const target = before[0]!;
    const foreignRead = await stack.gql(bob, 'mutation ($id: ID!) { markNotificationRead(id: $id) { id } }', {
      id: target.id,
    });
    expect(foreignRead.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const foreignGet = await stack.gql(
      bob,
      'query ($id: ID!) { notification(id: $id) { id } notifications { edges { node { id } } } }',
      {
        id: target.id,
      },
    );
    expect(foreignGet.data).toEqual({ notification: null, notifications: { edges: [] } });

    const read = await stack.gql<{ markNotificationRead: { read: boolean } }>(
      alice,
      'mutation ($id: ID!) { markNotificationRead(id: $id) { read readAt } }',
      { id: target.id },
    );
    expect(read.data?.markNotificationRead.read).toBe(true);
    expect((await unread(alice)).map((n) => n.id)).not.toContain(target.id);
    const all = await stack.gql<{ markAllNotificationsRead: number }>(
      alice,
      'mutation { markAllNotificationsRead }',
    );
    expect(all.data?.markAllNotificationsRead).toBe(before.length - 1);
    expect(await unread(alice)).toEqual([]);
    const bad = await stack.gql(alice, '{ notifications(after: "x") { edges { cursor } } }');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('resumes a dropped subscription from its last cursor: the missed ones, then live ones, none twice', async () => {
    const dave = await stack.token('dave');
    const first = await stack.subscribe(dave, SUBSCRIPTION);
    await remindIn(dave, 'one', 200);
    const seen = pushed(await first.next());
    expect(seen.title).toBe('Reminder: one');
    await first.close(); // the connection drops

    await remindIn(dave, 'two', 100);
    await remindIn(dave, 'three', 300);
    await eventually(async () => ((await unread(dave)).length === 3 ? true : undefined));

    const resumed: LiveSubscription = await stack.subscribe(dave, SUBSCRIPTION, { after: seen.cursor });
    const missed = [pushed(await resumed.next()), pushed(await resumed.next())];
    expect(missed.map((n) => n.title)).toEqual(['Reminder: two', 'Reminder: three']);
    await remindIn(dave, 'four', 100);
    expect(pushed(await resumed.next()).title).toBe('Reminder: four');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const cursors = resumed.received.map((p) => Number(pushed(p).cursor));
    expect(cursors).toEqual([Number(seen.cursor) + 1, Number(seen.cursor) + 2, Number(seen.cursor) + 3]);
    await resumed.close();
  });

  it('lets go of a dropped connection at once, even when no event follows', async () => {
    const erin = await stack.token('erin');
    const live = await stack.subscribe(erin, SUBSCRIPTION);
    expect(stack.parley.router.engine.listenerCount('erin')).toBe(1);
    const started = Date.now();
    await live.close();
    expect(stack.parley.router.engine.listenerCount('erin')).toBe(0);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('suspends reminders of a completed task, resumes them on reopen, and moves relative ones with the due time', async () => {
    const due = new Date(Date.now() + 3_600_000).toISOString();
    const r = await stack.gql<{ createTask: { id: string; reminders: { at: string; beforeDue: number }[] } }>(
      alice,
      'mutation ($due: DateTime!) { createTask(input: { title: "Report", dueAt: $due, reminders: [{ beforeDue: 600 }, { beforeDue: 0 }] }) { id reminders { at beforeDue } } }',
      { due },
    );
    const id = r.data!.createTask.id;
    expect(r.data!.createTask.reminders.map((x) => x.at)).toEqual([
      new Date(Date.parse(due) - 600_000).toISOString(),
      due,
    ]);
    const reminders = async () =>
      (
        await stack.gql<{ task: { reminders: { at: string; suspended: boolean }[] } }>(
          alice,
          'query ($id: ID!) { task(id: $id) { reminders { at suspended } } }',
          { id },
        )
      ).data!.task.reminders;
    await stack.gql(alice, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', { id });
    expect((await reminders()).every((x) => x.suspended)).toBe(true);
    await stack.gql(alice, 'mutation ($id: ID!) { reopenTask(id: $id) { id } }', { id });
    expect((await reminders()).some((x) => x.suspended)).toBe(false);
    const later = new Date(Date.parse(due) + 86_400_000).toISOString();
    await stack.gql(
      alice,
      'mutation ($id: ID!, $d: DateTime!) { updateTask(id: $id, input: { dueAt: $d }) { id } }',
      {
        id,
        d: later,
      },
    );
    expect((await reminders()).map((x) => x.at)).toEqual([
      new Date(Date.parse(later) - 600_000).toISOString(),
      later,
    ]);
  });
});
