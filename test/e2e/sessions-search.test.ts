import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestStack, type TestStack } from '../support/stack.ts';

interface Hit {
  kind: 'MESSAGE' | 'SESSION_TITLE';
  rank: number;
  snippet: string;
  session: { id: string; title: string };
  message: { id: string; content: string; role: string } | null;
}
const SEARCH = `query ($q: String!, $filter: SearchFilter, $first: Int, $after: String) {
  search(query: $q, filter: $filter, first: $first, after: $after) {
    edges { cursor node { kind rank snippet session { id title } message { id content role } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const SIMILAR = `query ($e: [Float!]!, $filter: SearchFilter, $first: Int) {
  similarMessages(embedding: $e, filter: $filter, first: $first) { score message { content } }
}`;

describe('search over a user’s sessions and messages through the router', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  let kafkaSession: string;
  let cookingSession: string;
  let beforeLast: string;

  const create = async (token: string, title: string) =>
    (
      await stack.gql<{ createSession: { id: string } }>(
        token,
        'mutation ($t: String!) { createSession(input: { title: $t }) { id } }',
        { t: title },
      )
    ).data!.createSession.id;
  const add = async (
    token: string,
    sessionId: string,
    role: string,
    content: string,
    embedding?: number[],
  ) => {
    const r = await stack.gql<{ addMessage: { id: string } }>(
      token,
      'mutation ($i: AddMessageInput!) { addMessage(input: $i) { id } }',
      { i: { sessionId, role, content, embedding } },
    );
    expect(r.errors).toBeUndefined();
    return r.data!.addMessage.id;
  };
  const search = async (
    token: string,
    q: string,
    filter?: Record<string, unknown>,
    first?: number,
    after?: string,
  ) => {
    const r = await stack.gql<{
      search: {
        edges: { cursor: string; node: Hit }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(token, SEARCH, { q, filter, first, after });
    expect(r.errors).toBeUndefined();
    return r.data!.search;
  };

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    kafkaSession = await create(alice, 'Kafka partitions explained');
    cookingSession = await create(alice, 'Dinner ideas');
    await add(alice, kafkaSession, 'user', 'How do Kafka partitions relate to consumer groups?', [1, 0, 0]);
    await add(
      alice,
      kafkaSession,
      'assistant',
      'Each partition of a topic is read by exactly one consumer in a group. More partitions allow more consumers; partitions partitions partitions.',
      [0.9, 0.1, 0],
    );
    await add(alice, cookingSession, 'user', 'A quick pasta recipe with tomatoes, please', [0, 1, 0]);
    beforeLast = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await add(
      alice,
      cookingSession,
      'assistant',
      'Cook the pasta; a consumer of this recipe will like it.',
      [0, 0.8, 0.6],
    );
    const bobSession = await create(bob, 'Bob’s Kafka notes');
    await add(bob, bobSession, 'user', 'Kafka partitions are Bob’s secret', [1, 0, 0]);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('ranks messages and titles by relevance and highlights the matching words', async () => {
    const result = await search(alice, 'partitions');
    const nodes = result.edges.map((e) => e.node);
    expect(nodes.map((n) => n.kind).sort()).toEqual(['MESSAGE', 'MESSAGE', 'SESSION_TITLE']);
    // The answer that says "partitions" six times outranks the question that says it once.
    const messages = nodes.filter((n) => n.kind === 'MESSAGE');
    expect(messages[0]!.message!.role).toBe('assistant');
    expect(messages[0]!.rank).toBeGreaterThan(messages[1]!.rank);
    for (let i = 1; i < nodes.length; i += 1)
      expect(nodes[i - 1]!.rank).toBeGreaterThanOrEqual(nodes[i]!.rank);
    expect(messages[1]!.snippet).toContain('<mark>partitions</mark>');
    const title = nodes.find((n) => n.kind === 'SESSION_TITLE')!;
    expect(title).toMatchObject({
      message: null,
      session: { id: kafkaSession },
      snippet: 'Kafka <mark>partitions</mark> explained',
    });
  });

  it('understands web search syntax: phrases, stemming and exclusions', async () => {
    const phrase = await search(alice, '"consumer groups"');
    expect(phrase.edges.map((e) => e.node.message?.content)).toEqual([
      'How do Kafka partitions relate to consumer groups?',
    ]);
    const stemmed = await search(alice, 'consumers -kafka');
    expect(stemmed.edges.map((e) => e.node.message?.content).sort()).toEqual([
      'Cook the pasta; a consumer of this recipe will like it.',
      'Each partition of a topic is read by exactly one consumer in a group. More partitions allow more consumers; partitions partitions partitions.',
    ]);
  });

  it('filters by session, role and time', async () => {
    const bySession = await search(alice, 'consumer', { sessionId: cookingSession });
    expect(bySession.edges.map((e) => e.node.session.id)).toEqual([cookingSession]);
    const byRole = await search(alice, 'kafka or pasta', { role: 'user' });
    expect(byRole.edges.map((e) => e.node.message?.role)).toEqual(['user', 'user']);
    const late = await search(alice, 'pasta', { from: beforeLast });
    expect(late.edges.map((e) => e.node.message?.content)).toEqual([
      'Cook the pasta; a consumer of this recipe will like it.',
    ]);
    const early = await search(alice, 'pasta', { to: beforeLast });
    expect(early.edges.map((e) => e.node.message?.content)).toEqual([
      'A quick pasta recipe with tomatoes, please',
    ]);
  });

  it('pages through results with a cursor', async () => {
    const p1 = await search(alice, 'consumer or partitions', undefined, 2);
    expect(p1.edges).toHaveLength(2);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = await search(alice, 'consumer or partitions', undefined, 2, p1.pageInfo.endCursor);
    const all = await search(alice, 'consumer or partitions', undefined, 10);
    expect([...p1.edges, ...p2.edges].map((e) => e.node.message?.id ?? e.node.session.id)).toEqual(
      all.edges
        .slice(0, p1.edges.length + p2.edges.length)
        .map((e) => e.node.message?.id ?? e.node.session.id),
    );
  });

  it('finds only the caller’s own data and validates the query', async () => {
    const bobs = await search(bob, 'partitions');
    expect(bobs.edges.map((e) => e.node.session.title).every((t) => t === 'Bob’s Kafka notes')).toBe(true);
    const probe = await search(bob, 'partitions', { sessionId: kafkaSession });
    expect(probe.edges).toEqual([]);
    const empty = await stack.gql(alice, SEARCH, { q: '   ' });
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    const long = await stack.gql(alice, SEARCH, { q: 'x'.repeat(501) });
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
  });

  it('finds a message as soon as it is added (indexed in the write’s transaction)', async () => {
    await add(alice, kafkaSession, 'user', 'zanzibar is an unusual word');
    const found = await search(alice, 'zanzibar');
    expect(found.edges).toHaveLength(1);
  });

  it('ranks messages by cosine similarity to a client embedding, per user and dimension', async () => {
    const r = await stack.gql<{ similarMessages: { score: number; message: { content: string } }[] }>(
      alice,
      SIMILAR,
      {
        e: [1, 0.05, 0],
        first: 3,
      },
    );
    expect(r.errors).toBeUndefined();
    const hits = r.data!.similarMessages;
    expect(hits.map((h) => h.message.content)).toEqual([
      'How do Kafka partitions relate to consumer groups?',
      'Each partition of a topic is read by exactly one consumer in a group. More partitions allow more consumers; partitions partitions partitions.',
      'A quick pasta recipe with tomatoes, please',
    ]);
    expect(hits[0]!.score).toBeCloseTo(0.9988, 3);
    const filtered = await stack.gql<{ similarMessages: { message: { content: string } }[] }>(
      alice,
      SIMILAR,
      {
        e: [0, 1, 0],
        filter: { sessionId: cookingSession, role: 'assistant' },
      },
    );
    expect(filtered.data!.similarMessages.map((h) => h.message.content)).toEqual([
      'Cook the pasta; a consumer of this recipe will like it.',
    ]);
    const otherDimension = await stack.gql<{ similarMessages: unknown[] }>(alice, SIMILAR, { e: [1, 0] });
    expect(otherDimension.data!.similarMessages).toEqual([]);
    const bobs = await stack.gql<{ similarMessages: { message: { content: string } }[] }>(bob, SIMILAR, {
      e: [1, 0, 0],
    });
    expect(bobs.data!.similarMessages.map((h) => h.message.content)).toEqual([
      'Kafka partitions are Bob’s secret',
    ]);
    const bad = await stack.gql(alice, SIMILAR, { e: [] });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'embedding' });
  });
});
