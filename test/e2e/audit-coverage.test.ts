import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

interface Row {
  action: string;
  actor_id: string;
  actor_kind: string;
  outcome: string;
  entity_type: string;
  entity_id: string;
  ip: string | null;
  request_id: string | null;
  changes: Record<string, { before?: unknown; after?: unknown }> | null;
}

/** Every user action reaches the audit trail once, with who, how and from where. */
describe('the audit trail records every domain mutation and every refusal', () => {
  let stack: TestStack;
  let sql: pg.Client;
  let alice: string;
  let bob: string;
  const ids: Record<string, string> = {};

  const rows = async (action: string) =>
    (await sql.query<Row>('select * from audit.records where action = $1 order by position', [action])).rows;
  const exactlyOne = async (action: string, match: (row: Row) => boolean = () => true) =>
    eventually(
      async () => {
        const found = (await rows(action)).filter(match);
        return found.length >= 1 ? found : undefined;
      },
      20_000,
      `an audit record for ${action}`,
    );

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    sql = new pg.Client({ connectionString: stack.databaseUrl });
    await sql.connect();
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    const session = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "plan" }) { id } }',
    );
    ids.session = session.data!.createSession.id;
    await stack.gql(alice, 'mutation ($id: ID!) { renameSession(id: $id, title: "plan B") { id } }', {
      id: ids.session,
    });
    await stack.gql(
      alice,
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "hello" }) { id } }',
      { s: ids.session },
    );
    const task = await stack.gql<{ createTask: { id: string } }>(
      alice,
      'mutation ($s: ID) { createTask(input: { title: "book flights", sessionId: $s }) { id } }',
      { s: ids.session },
    );
    ids.task = task.data!.createTask.id;
    await stack.gql(alice, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', { id: ids.task });
  });
  afterAll(async () => {
    await sql?.end();
    await stack?.stop();
  });

  it.each([
    ['createSession', 'session.created', 'session'],
    ['renameSession', 'session.renamed', 'session'],
    ['addMessage', 'message.added', 'message'],
    ['createTask', 'task.created', 'task'],
    ['completeTask', 'task.completed', 'task'],
  ])(
    '%s leaves exactly one %s record with alice as the actor and a success outcome',
    async (_m, action, type) => {
      await exactlyOne(action);
      const found = await rows(action);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        actor_id: 'alice',
        actor_kind: 'jwt',
        outcome: 'success',
        entity_type: type,
      });
      expect(found[0]!.request_id).toEqual(expect.any(String));
    },
  );

  it('keeps the before and after of a changed field', async () => {
    const [renamed] = await exactlyOne('session.renamed');
    expect(renamed!.changes).toEqual({ title: { before: 'plan', after: 'plan B' } });
  });

  it('records a denied cross-user write as denied, while the intruder only sees NOT_FOUND', async () => {
    const renamed = await stack.gql(
      bob,
      'mutation ($id: ID!) { renameSession(id: $id, title: "mine") { id } }',
      {
        id: ids.session,
      },
    );
    expect(renamed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const completed = await stack.gql(bob, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', {
      id: ids.task,
    });
    expect(completed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const denied = await exactlyOne('security.access-denied', (r) => r.entity_id === ids.task);
    expect(denied[0]).toMatchObject({ actor_id: 'bob', outcome: 'denied', entity_type: 'task' });
    const onSession = await exactlyOne('security.access-denied', (r) => r.entity_id === ids.session);
    expect(onSession[0]).toMatchObject({ actor_id: 'bob', outcome: 'denied', entity_type: 'session' });
  });

  it('does not let a non-admin search, and records the attempt', async () => {
    const search = await stack.gql(bob, '{ auditRecords { totalCount } }');
    expect(search.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [attempt] = await exactlyOne('security.access-denied', (r) => r.entity_id === 'auditRecords');
    expect(attempt).toMatchObject({ actor_id: 'bob', outcome: 'denied' });
  });

  it('records a refused credential as a failure from the caller address', async () => {
    const refused = await stack.gql('not-a-jwt', '{ me { id } }');
    expect(refused.status).toBe(401);
    const [failure] = await exactlyOne('security.auth-failed');
    expect(failure).toMatchObject({ actor_id: 'anonymous', outcome: 'failure', entity_type: 'credential' });
    expect(failure!.ip).toMatch(/127\.0\.0\.1|::1/);
  });
});
