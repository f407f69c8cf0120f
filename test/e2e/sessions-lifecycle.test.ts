import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

const FIELDS = 'id title favorite archived archivedAt tags deletedAt';
interface SessionNode {
  id: string;
  title: string;
  favorite: boolean;
  archived: boolean;
  archivedAt: string | null;
  tags: string[];
  deletedAt: string | null;
}

describe('session lifecycle through the router', () => {
  let stack: TestStack;
  let sql: pg.Pool;
  let alice: string;
  let bob: string;

  const create = async (token: string, title: string, tags?: string[]) => {
    const r = await stack.gql<{ createSession: SessionNode }>(
      token,
      `mutation ($t: String!, $tags: [String!]) { createSession(input: { title: $t, tags: $tags }) { ${FIELDS} } }`,
      { t: title, tags },
    );
    expect(r.errors).toBeUndefined();
    return r.data!.createSession;
  };
  const mutate = (token: string, name: string, id: string, extra = '', vars: Record<string, unknown> = {}) =>
    stack.gql<Record<string, SessionNode>>(
      token,
      `mutation ($id: ID!${extra ? `, ${extra}` : ''}) { ${name}(id: $id${extra ? `, ${extra.split(':')[0]!.slice(1)}: ${extra.split(':')[0]}` : ''}) { ${FIELDS} } }`,
      { id, ...vars },
    );
  const list = async (token: string, args = '') => {
    const r = await stack.gql<{
      sessions: { edges: { node: { title: string } }[]; pageInfo: { endCursor: string } };
    }>(token, `{ sessions${args} { edges { node { title } } pageInfo { hasNextPage endCursor } } }`);
    expect(r.errors).toBeUndefined();
    return r.data!.sessions.edges.map((e) => e.node.title);
  };
  const addMessage = (token: string, sessionId: string, content: string) =>
    stack.gql<{ addMessage: { id: string } }>(
      token,
      'mutation ($s: ID!, $c: String!) { addMessage(input: { sessionId: $s, role: user, content: $c }) { id } }',
      { s: sessionId, c: content },
    );
  const auditActions = async (entityId: string) =>
    (
      await sql.query<{ action: string }>(
        'select action from audit.records where entity_id = $1 order by position',
        [entityId],
      )
    ).rows.map((r) => r.action);

  beforeAll(async () => {
    stack = await startTestStack({
      transport: 'kafka',
      env: { SESSION_DELETE_GRACE_SECONDS: '3', SESSION_PURGE_INTERVAL_SECONDS: '0.5' },
    });
    sql = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
    alice = await stack.token('alice');
    bob = await stack.token('bob');
  });
  afterAll(async () => {
    await sql?.end();
    await stack?.stop();
  });

  it('renames, favorites, tags and archives a session, each change announced as an audited event', async () => {
    const s = await create(alice, 'Plans', ['Work', 'work', ' q3 ']);
    expect(s).toMatchObject({ favorite: false, archived: false, tags: ['work', 'q3'], deletedAt: null });
    const renamed = await mutate(alice, 'renameSession', s.id, '$title: String!', { title: 'Q3 plans' });
    expect(renamed.data!.renameSession!.title).toBe('Q3 plans');
    expect((await mutate(alice, 'favoriteSession', s.id)).data!.favoriteSession!.favorite).toBe(true);
    expect((await mutate(alice, 'unfavoriteSession', s.id)).data!.unfavoriteSession!.favorite).toBe(false);
    const tagged = await mutate(alice, 'tagSession', s.id, '$tags: [String!]!', { tags: ['planning'] });
    expect(tagged.data!.tagSession!.tags).toEqual(['planning']);
    const archived = await mutate(alice, 'archiveSession', s.id);
    expect(archived.data!.archiveSession).toMatchObject({ archived: true, archivedAt: expect.any(String) });
    // An archived session is read-only until unarchived.
    const blocked = await addMessage(alice, s.id, 'late');
    expect(blocked.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await mutate(alice, 'unarchiveSession', s.id)).data!.unarchiveSession!.archived).toBe(false);
    const expected = [
      'session.created',
      'session.tagged',
      'session.renamed',
      'session.favorited',
      'session.unfavorited',
      'session.tagged',
      'session.archived',
      'session.unarchived',
    ];
    await eventually(async () => ((await auditActions(s.id)).length >= expected.length ? true : undefined));
    expect(await auditActions(s.id)).toEqual(expected);
  });

  it('streams session changes to the owner’s sessionUpdated subscription', async () => {
    const s = await create(alice, 'Live');
    const live = await stack.subscribe(
      alice,
      'subscription ($id: ID) { sessionUpdated(id: $id) { id favorite tags archived } }',
      { id: s.id },
    );
    await mutate(alice, 'favoriteSession', s.id);
    await mutate(alice, 'tagSession', s.id, '$tags: [String!]!', { tags: ['live'] });
    await mutate(alice, 'archiveSession', s.id);
    // Each event yields the session as it is when the router resolves it; the last shows all three.
    let last = (await live.next(20_000)).data?.sessionUpdated as { archived: boolean } | undefined;
    while (!last?.archived) last = (await live.next(20_000)).data?.sessionUpdated as typeof last;
    expect(last).toEqual({ id: s.id, favorite: true, tags: ['live'], archived: true });
    await live.close();
  });

  it('rejects bad session input with BAD_USER_INPUT and the field', async () => {
    const s = await create(alice, 'Valid');
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['renameSession', '$title: String!', { title: ' ' }, 'title'],
      ['renameSession', '$title: String!', { title: 'x'.repeat(201) }, 'title'],
      ['tagSession', '$tags: [String!]!', { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
      ['tagSession', '$tags: [String!]!', { tags: ['#bad'] }, 'tags'],
      ['tagSession', '$tags: [String!]!', { tags: ['x'.repeat(41)] }, 'tags'],
    ];
    for (const [name, extra, vars, field] of cases) {
      const r = await mutate(alice, name, s.id, extra, vars);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('lists sessions filtered by favorite, archived and tag, sorted by creation or last activity, in pages', async () => {
    const token = await stack.token('lister');
    const a = await create(token, 'A', ['red']);
    const b = await create(token, 'B', ['blue']);
    const c = await create(token, 'C', ['red', 'blue']);
    await mutate(token, 'favoriteSession', b.id);
    await mutate(token, 'archiveSession', c.id);
    expect(await list(token)).toEqual(['C', 'B', 'A']);
    expect(await list(token, '(filter: { favorite: true })')).toEqual(['B']);
    expect(await list(token, '(filter: { archived: false })')).toEqual(['B', 'A']);
    expect(await list(token, '(filter: { archived: true })')).toEqual(['C']);
    expect(await list(token, '(filter: { tag: "RED" })')).toEqual(['C', 'A']);
    expect(await list(token, '(filter: { tag: "red", archived: false })')).toEqual(['A']);
    // A message in A makes it the most recently active once the projection has it.
    await addMessage(token, a.id, 'bump A');
    await eventually(async () => {
      const order = await list(token, '(orderBy: LAST_ACTIVITY)');
      return order[0] === 'A' ? order : undefined;
    });
    expect(await list(token, '(orderBy: LAST_ACTIVITY)')).toEqual(['A', 'C', 'B']);
    const first = await stack.gql<{
      sessions: {
        edges: { node: { title: string } }[];
        pageInfo: { endCursor: string; hasNextPage: boolean };
      };
    }>(
      token,
      '{ sessions(first: 2, orderBy: LAST_ACTIVITY) { edges { node { title } } pageInfo { hasNextPage endCursor } } }',
    );
    expect(first.data!.sessions.pageInfo.hasNextPage).toBe(true);
    expect(
      await list(
        token,
        `(first: 2, orderBy: LAST_ACTIVITY, after: "${first.data!.sessions.pageInfo.endCursor}")`,
      ),
    ).toEqual(['B']);
  });

  it('keeps the stats projection: message count, last activity and preview', async () => {
    const s = await create(alice, 'Counted');
    for (const content of ['one', 'two', 'three']) await addMessage(alice, s.id, content);
    const stats = await eventually(async () => {
      const r = await stack.gql<{
        session: { stats: { messageCount: number; lastActivityAt: string; lastMessagePreview: string } };
      }>(
        alice,
        'query ($id: ID!) { session(id: $id) { stats { messageCount lastActivityAt lastMessagePreview } } }',
        { id: s.id },
      );
      const value = r.data?.session.stats;
      return value?.messageCount === 3 ? value : undefined;
    });
    expect(stats).toMatchObject({
      messageCount: 3,
      lastMessagePreview: 'three',
      lastActivityAt: expect.any(String),
    });
  });

  it('answers NOT_FOUND to user B for every change to user A’s session, changes nothing and audits the denials', async () => {
    const s = await create(alice, 'Alice only');
    const attempts = [
      mutate(bob, 'renameSession', s.id, '$title: String!', { title: 'x' }),
      mutate(bob, 'favoriteSession', s.id),
      mutate(bob, 'unfavoriteSession', s.id),
      mutate(bob, 'tagSession', s.id, '$tags: [String!]!', { tags: ['x'] }),
      mutate(bob, 'archiveSession', s.id),
      mutate(bob, 'unarchiveSession', s.id),
      mutate(bob, 'deleteSession', s.id),
      mutate(bob, 'restoreSession', s.id),
    ];
    for (const r of await Promise.all(attempts)) expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const unknown = await mutate(
      bob,
      'renameSession',
      '00000000-0000-4000-8000-000000000000',
      '$title: String!',
      {
        title: 'x',
      },
    );
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await list(bob, '(filter: { deleted: true })')).toEqual([]);
    const still = await stack.gql<{ session: SessionNode }>(
      alice,
      `query ($id: ID!) { session(id: $id) { ${FIELDS} } }`,
      {
        id: s.id,
      },
    );
    expect(still.data!.session).toMatchObject({
      title: 'Alice only',
      favorite: false,
      deletedAt: null,
      tags: [],
    });
    // Each attempt is in the audit trail as denied (security.access-denied, via ctx.denied).
    const denials = await eventually(async () => {
      const { rows } = await sql.query<{ n: number }>(
        `select count(*)::int as n from audit.records where entity_id = $1 and outcome = 'denied'`,
        [s.id],
      );
      return rows[0]!.n >= 8 ? rows[0]!.n : undefined;
    });
    expect(denials).toBe(8);
    // A read by id answers null, as for an unknown id, and is audited too.
    const read = await stack.gql(bob, 'query ($id: ID!) { session(id: $id) { id } }', { id: s.id });
    expect(read).toMatchObject({ data: { session: null } });
    expect(read.errors).toBeUndefined();
    await eventually(async () => {
      const { rows } = await sql.query<{ n: number }>(
        `select count(*)::int as n from audit.records where entity_id = $1 and outcome = 'denied'`,
        [s.id],
      );
      return rows[0]!.n === 9 ? true : undefined;
    });
  });

  it('soft-deletes a session out of lists and search, and restores it within the grace period', async () => {
    const s = await create(alice, 'Trash me');
    await addMessage(alice, s.id, 'recoverable words');
    const deleted = await mutate(alice, 'deleteSession', s.id);
    expect(deleted.data!.deleteSession!.deletedAt).toEqual(expect.any(String));
    expect(await list(alice)).not.toContain('Trash me');
    expect(await list(alice, '(filter: { deleted: true })')).toEqual(['Trash me']);
    const search = await stack.gql<{ search: { edges: unknown[] } }>(
      alice,
      '{ search(query: "recoverable") { edges { cursor } } }',
    );
    expect(search.data!.search.edges).toEqual([]);
    const blocked = await addMessage(alice, s.id, 'into the bin');
    expect(blocked.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const restored = await mutate(alice, 'restoreSession', s.id);
    expect(restored.data!.restoreSession!.deletedAt).toBeNull();
    expect(await list(alice)).toContain('Trash me');
    const messages = await stack.gql<{ session: { messages: { edges: { node: { content: string } }[] } } }>(
      alice,
      'query ($id: ID!) { session(id: $id) { messages { edges { node { content } } } } }',
      { id: s.id },
    );
    expect(messages.data!.session.messages.edges.map((e) => e.node.content)).toEqual(['recoverable words']);
  });

  it('purges a deleted session and its messages once the grace period is over', async () => {
    const s = await create(alice, 'Gone for good');
    const m = await addMessage(alice, s.id, 'to be purged');
    await mutate(alice, 'deleteSession', s.id);
    await eventually(
      async () => {
        const r = await sql.query('select 1 from sessions.sessions where id = $1', [s.id]);
        return r.rowCount === 0 ? true : undefined;
      },
      20_000,
      'session purged',
    );
    const rows = await sql.query('select 1 from sessions.messages where session_id = $1', [s.id]);
    expect(rows.rowCount).toBe(0);
    const restore = await mutate(alice, 'restoreSession', s.id);
    expect(restore.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const gone = await stack.gql(alice, 'query ($id: ID!) { message(id: $id) { id } }', {
      id: m.data!.addMessage.id,
    });
    expect(gone.data).toEqual({ message: null });
    await eventually(async () => ((await auditActions(s.id)).includes('session.purged') ? true : undefined));
    expect(await auditActions(s.id)).toEqual([
      'session.created',
      'message.added',
      'session.deleted',
      'session.purged',
    ]);
  });
});
