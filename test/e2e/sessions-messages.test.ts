import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

interface MessageNode {
  id: string;
  content: string;
  position: number;
}
interface MessagePage {
  edges: { cursor: string; node: MessageNode }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

const ADD = `mutation ($input: AddMessageInput!) {
  addMessage(input: $input) {
    id role content position tokenCount metadata idempotencyKey
    parent { id } context { sourceId uri title snippet score }
  }
}`;
const PAGE = `query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  session(id: $id) {
    messages(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id content position } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;

describe('session messages through the router', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;

  const newSession = async (token: string, title = 'Chat') => {
    const r = await stack.gql<{ createSession: { id: string } }>(
      token,
      'mutation ($t: String!) { createSession(input: { title: $t }) { id } }',
      { t: title },
    );
    return r.data!.createSession.id;
  };
  const add = (token: string, input: Record<string, unknown>) =>
    stack.gql<{ addMessage: Record<string, unknown> & { id: string; position: number } }>(token, ADD, {
      input: { role: 'user', ...input },
    });
  const page = async (token: string, id: string, args: Record<string, unknown>) => {
    const r = await stack.gql<{ session: { messages: MessagePage } }>(token, PAGE, { id, ...args });
    expect(r.errors).toBeUndefined();
    return r.data!.session.messages;
  };

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    alice = await stack.token('alice');
    bob = await stack.token('bob');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('stores a message with role, token count, metadata, RAG context and a parent', async () => {
    const sessionId = await newSession(alice);
    const first = await add(alice, { sessionId, role: 'user', content: 'What is Kafka?' });
    expect(first.errors).toBeUndefined();
    const r = await add(alice, {
      sessionId,
      role: 'assistant',
      content: 'A distributed log.',
      tokenCount: 42,
      parentId: first.data!.addMessage.id,
      metadata: { model: 'm-1', temperature: 0.2, tags: ['a'] },
      context: [
        {
          sourceId: 'doc-1',
          uri: 'https://kafka.apache.org/intro',
          title: 'Intro',
          snippet: 'Kafka is…',
          score: 0.91,
        },
        { sourceId: 'doc-2', snippet: 'A log is…', score: 0.5 },
      ],
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.addMessage).toEqual({
      id: expect.any(String),
      role: 'assistant',
      content: 'A distributed log.',
      position: 2,
      tokenCount: 42,
      metadata: { model: 'm-1', temperature: 0.2, tags: ['a'] },
      idempotencyKey: null,
      parent: { id: first.data!.addMessage.id },
      context: [
        {
          sourceId: 'doc-1',
          uri: 'https://kafka.apache.org/intro',
          title: 'Intro',
          snippet: 'Kafka is…',
          score: 0.91,
        },
        { sourceId: 'doc-2', uri: null, title: null, snippet: 'A log is…', score: 0.5 },
      ],
    });
  });

  it('rejects invalid messages with a stable code and the offending field', async () => {
    const sessionId = await newSession(alice);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ content: '  ' }, 'BAD_USER_INPUT', 'content'],
      [{ content: 'x'.repeat(100_001) }, 'PAYLOAD_TOO_LARGE', 'content'],
      [{ content: 'hi', metadata: { big: 'x'.repeat(17_000) } }, 'PAYLOAD_TOO_LARGE', 'metadata'],
      [{ content: 'hi', metadata: [1, 2] }, 'BAD_USER_INPUT', 'metadata'],
      [{ content: 'hi', tokenCount: -1 }, 'BAD_USER_INPUT', 'tokenCount'],
      [{ content: 'hi', idempotencyKey: '' }, 'BAD_USER_INPUT', 'idempotencyKey'],
      [
        { content: 'hi', context: [{ sourceId: 's', snippet: 'x', score: 1.5 }] },
        'BAD_USER_INPUT',
        'context.0.score',
      ],
      [
        { content: 'hi', context: [{ sourceId: 's', uri: 'not a uri', snippet: 'x', score: 0.1 }] },
        'BAD_USER_INPUT',
        'context.0.uri',
      ],
      [{ content: 'hi', parentId: '00000000-0000-4000-8000-000000000000' }, 'BAD_USER_INPUT', 'parentId'],
      [{ content: 'hi', embedding: [0, 0] }, 'BAD_USER_INPUT', 'embedding'],
    ];
    for (const [input, code, field] of cases) {
      const r = await add(alice, { sessionId, ...input });
      expect({ field, ext: r.errors?.[0]?.extensions }).toEqual({
        field,
        ext: expect.objectContaining({ code, field }),
      });
    }
    const none = await page(alice, sessionId, { first: 10 });
    expect(none.edges).toEqual([]);
  });

  it('returns the same message for the same idempotency key, also for 10 concurrent retries', async () => {
    const sessionId = await newSession(alice);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        add(alice, { sessionId, content: 'once only', idempotencyKey: 'key-1' }),
      ),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    const ids = new Set(results.map((r) => r.data!.addMessage.id));
    expect(ids.size).toBe(1);
    const again = await add(alice, { sessionId, content: 'once only', idempotencyKey: 'key-1' });
    expect(again.data!.addMessage.id).toBe([...ids][0]);
    const listed = await page(alice, sessionId, { first: 50 });
    expect(listed.edges.map((e) => e.node.content)).toEqual(['once only']);
    const reused = await add(alice, { sessionId, content: 'something else', idempotencyKey: 'key-1' });
    expect(reused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('pages forward and backward with stable cursors', async () => {
    const sessionId = await newSession(alice);
    for (let i = 1; i <= 7; i += 1) await add(alice, { sessionId, content: `m${i}` });
    const p1 = await page(alice, sessionId, { first: 3 });
    expect(p1.edges.map((e) => e.node.content)).toEqual(['m1', 'm2', 'm3']);
    expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const p2 = await page(alice, sessionId, { first: 3, after: p1.pageInfo.endCursor });
    expect(p2.edges.map((e) => e.node.content)).toEqual(['m4', 'm5', 'm6']);
    expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const tail = await page(alice, sessionId, { last: 2 });
    expect(tail.edges.map((e) => e.node.content)).toEqual(['m6', 'm7']);
    expect(tail.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back = await page(alice, sessionId, { last: 3, before: tail.pageInfo.startCursor });
    expect(back.edges.map((e) => e.node.content)).toEqual(['m3', 'm4', 'm5']);
    const start = await page(alice, sessionId, { last: 5, before: back.pageInfo.startCursor });
    expect(start.edges.map((e) => e.node.content)).toEqual(['m1', 'm2']);
    expect(start.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const bad = await stack.gql(alice, PAGE, { id: sessionId, first: 2, last: 2 });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    const badCursor = await stack.gql(alice, PAGE, { id: sessionId, after: 'nope' });
    expect(badCursor.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const tooBig = await stack.gql(alice, PAGE, { id: sessionId, first: 101 });
    expect(tooBig.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('pages through every message exactly once while new messages arrive concurrently', async () => {
    const sessionId = await newSession(alice);
    let writing = true;
    let written = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (writing) {
        const r = await add(alice, { sessionId, content: `w${(written += 1)}` });
        expect(r.errors).toBeUndefined();
      }
    });
    const seen: number[] = [];
    let after: string | null = null;
    // Keep reading until the writers stopped and a page comes back short.
    for (let rounds = 0; ; rounds += 1) {
      const p: MessagePage = await page(alice, sessionId, { first: 5, after });
      seen.push(...p.edges.map((e) => e.node.position));
      after = p.pageInfo.endCursor ?? after;
      if (rounds === 30) writing = false;
      if (!writing && !p.pageInfo.hasNextPage) {
        await Promise.all(writers);
        const rest: MessagePage = await page(alice, sessionId, { first: 100, after });
        seen.push(...rest.edges.map((e) => e.node.position));
        if (!rest.pageInfo.hasNextPage) break;
        after = rest.pageInfo.endCursor;
      }
    }
    const total = (
      await stack.gql<{ session: { messages: MessagePage } }>(alice, PAGE, { id: sessionId, last: 1 })
    ).data!.session.messages.edges[0]!.node.position;
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('keeps user B away from user A’s messages: NOT_FOUND on write, null on read', async () => {
    const sessionId = await newSession(alice);
    const mine = await add(alice, { sessionId, content: 'secret' });
    const write = await add(bob, { sessionId, content: 'intrusion' });
    expect(write.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const read = await stack.gql(
      bob,
      'query ($id: ID!) { message(id: $id) { id } session(id: $s) { id } }'.replace(
        '($id: ID!)',
        '($id: ID!, $s: ID!)',
      ),
      {
        id: mine.data!.addMessage.id,
        s: sessionId,
      },
    );
    expect(read.data).toEqual({ message: null, session: null });
    const fork = await stack.gql(bob, 'mutation ($m: ID!) { forkSession(messageId: $m) { id } }', {
      m: mine.data!.addMessage.id,
    });
    expect(fork.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const own = await stack.gql<{ message: { content: string } }>(
      alice,
      'query ($id: ID!) { message(id: $id) { content } }',
      {
        id: mine.data!.addMessage.id,
      },
    );
    expect(own.data!.message.content).toBe('secret');
  });

  it('forks a session at a message into a new session with copies up to that message', async () => {
    const sessionId = await newSession(alice, 'Original');
    const ids: string[] = [];
    for (const content of ['q1', 'a1', 'q2', 'a2']) {
      const r = await add(alice, { sessionId, content, ...(ids.length ? { parentId: ids.at(-1) } : {}) });
      ids.push(r.data!.addMessage.id);
    }
    const r = await stack.gql<{
      forkSession: { id: string; title: string; forkedFrom: { id: string }; forkedFromMessageId: string };
    }>(
      alice,
      'mutation ($m: ID!) { forkSession(messageId: $m) { id title forkedFrom { id } forkedFromMessageId } }',
      {
        m: ids[2],
      },
    );
    expect(r.errors).toBeUndefined();
    const fork = r.data!.forkSession;
    expect(fork).toMatchObject({
      title: 'Original (fork)',
      forkedFrom: { id: sessionId },
      forkedFromMessageId: ids[2],
    });
    const copied = await stack.gql<{
      session: {
        messages: {
          edges: { node: { id: string; content: string; position: number; parent: { id: string } | null } }[];
        };
      };
    }>(
      alice,
      'query ($id: ID!) { session(id: $id) { messages(first: 10) { edges { node { id content position parent { id } } } } } }',
      {
        id: fork.id,
      },
    );
    const nodes = copied.data!.session.messages.edges.map((e) => e.node);
    expect(nodes.map((n) => [n.content, n.position])).toEqual([
      ['q1', 1],
      ['a1', 2],
      ['q2', 3],
    ]);
    expect(nodes.every((n) => !ids.includes(n.id))).toBe(true);
    expect(nodes[1]!.parent?.id).toBe(nodes[0]!.id);
    // The fork carries on independently, and its projection starts from the copies.
    const next = await add(alice, { sessionId: fork.id, content: 'a2 (other branch)' });
    expect(next.data!.addMessage.position).toBe(4);
    const original = await page(alice, sessionId, { first: 10 });
    expect(original.edges.map((e) => e.node.content)).toEqual(['q1', 'a1', 'q2', 'a2']);
    // session.forked gives the projection the copies' count; message.added then counts on.
    const stats = await eventually(async () => {
      const r = await stack.gql<{ session: { stats: { messageCount: number; lastMessagePreview: string } } }>(
        alice,
        'query ($id: ID!) { session(id: $id) { stats { messageCount lastMessagePreview } } }',
        { id: fork.id },
      );
      return r.data?.session.stats.messageCount === 4 ? r.data.session.stats : undefined;
    });
    expect(stats).toEqual({ messageCount: 4, lastMessagePreview: 'a2 (other branch)' });
  });
});
