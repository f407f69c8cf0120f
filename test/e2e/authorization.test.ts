import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestStack, type TestStack } from '../support/stack.ts';

describe('who may read and change what, through the router', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  let aliceSession: string;
  let aliceTask: string;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    const s = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "Alice private" }) { id } }',
    );
    aliceSession = s.data!.createSession.id;
    const t = await stack.gql<{ createTask: { id: string } }>(
      alice,
      'mutation ($s: ID) { createTask(input: { title: "Alice task", sessionId: $s }) { id } }',
      { s: aliceSession },
    );
    aliceTask = t.data!.createTask.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('shows user B nothing of user A’s session, its messages or its tasks', async () => {
    const r = await stack.gql(
      bob,
      'query ($id: ID!, $t: ID!) { session(id: $id) { id title } task(id: $t) { id } sessions { edges { node { id } } } tasks { edges { node { id } } } }',
      { id: aliceSession, t: aliceTask },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ session: null, task: null, sessions: { edges: [] }, tasks: { edges: [] } });
  });

  it('answers NOT_FOUND when user B tries to change user A’s data', async () => {
    const rename = await stack.gql(
      bob,
      'mutation ($id: ID!) { renameSession(id: $id, title: "mine now") { id } }',
      { id: aliceSession },
    );
    const message = await stack.gql(
      bob,
      'mutation ($id: ID!) { addMessage(input: { sessionId: $id, role: user, content: "hi" }) { id } }',
      { id: aliceSession },
    );
    const complete = await stack.gql(bob, 'mutation ($id: ID!) { completeTask(id: $id) { id } }', {
      id: aliceTask,
    });
    for (const r of [rename, message, complete]) expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const still = await stack.gql<{ session: { title: string } }>(
      alice,
      'query ($id: ID!) { session(id: $id) { title } }',
      { id: aliceSession },
    );
    expect(still.data?.session.title).toBe('Alice private');
  });

  it('does not let user B reach user A’s session or tasks through a foreign session reference', async () => {
    const r = await stack.gql<{ createTask: { session: null } }>(
      bob,
      'mutation ($s: ID) { createTask(input: { title: "probe", sessionId: $s }) { session { title tasks { title } } } }',
      { s: aliceSession },
    );
    expect(r.data?.createTask.session).toBeNull();
    const viaTasks = await stack.gql<{ tasks: { edges: { node: { title: string; session: null } }[] } }>(
      bob,
      '{ tasks { edges { node { title session { title } } } } }',
    );
    expect(viaTasks.data?.tasks.edges).toEqual([{ node: { title: 'probe', session: null } }]);
  });

  it('never streams user A’s changes to user B, even for A’s session id', async () => {
    const bobLive = await stack.subscribe(
      bob,
      'subscription ($id: ID) { sessionUpdated(id: $id) { id title } }',
      { id: aliceSession },
    );
    const aliceLive = await stack.subscribe(
      alice,
      'subscription ($id: ID) { sessionUpdated(id: $id) { id title } }',
      { id: aliceSession },
    );
    await stack.gql(alice, 'mutation ($id: ID!) { renameSession(id: $id, title: "Alice renamed") { id } }', {
      id: aliceSession,
    });
    let seen = await aliceLive.next(20_000);
    while ((seen.data?.sessionUpdated as { title: string }).title !== 'Alice renamed')
      seen = await aliceLive.next(20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(bobLive.received).toEqual([]);
    await Promise.all([bobLive.close(), aliceLive.close()]);
  });

  it('requires authentication and rejects bad credentials with UNAUTHENTICATED', async () => {
    const anonymous = await stack.gql(null, '{ sessions { edges { node { id } } } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await stack.gql(
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.forged',
      '{ sessions { edges { node { id } } } }',
    );
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('accepts an API key, stored hashed, as its owner', async () => {
    const key = await stack.parley.apiKeys.create('alice', 'ci key');
    const response = await fetch(stack.parley.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(((await response.json()) as { data: unknown }).data).toEqual({ me: { id: 'alice' } });
    await stack.parley.apiKeys.revoke(key.id);
    const revoked = await fetch(stack.parley.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(revoked.status).toBe(401);
  });

  it('lets only the admin scope search the audit trail', async () => {
    const denied = await stack.gql(alice, '{ auditRecords { edges { node { id } } } }');
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await stack.token('auditor', ['admin']);
    const allowed = await stack.gql(admin, '{ auditRecords { edges { node { id } } } }');
    expect(allowed.errors).toBeUndefined();
  });

  it('explains bad input with BAD_USER_INPUT and the offending field', async () => {
    const r = await stack.gql(alice, 'mutation { createSession(input: { title: "   " }) { id } }');
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'title' });
    const page = await stack.gql(alice, '{ sessions(first: 1000) { edges { node { id } } } }');
    expect(page.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});
