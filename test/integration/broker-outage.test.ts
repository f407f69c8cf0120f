import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startOwnBroker } from '../support/own-broker.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

describe('Kafka down while mutations keep arriving (a broker of this file’s own)', () => {
  let stack: TestStack;
  let broker: Awaited<ReturnType<typeof startOwnBroker>>;

  beforeAll(async () => {
    broker = await startOwnBroker();
    stack = await startTestStack({ transport: 'kafka', env: { KAFKA_BROKERS: broker.brokers } });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    broker?.dispose();
  });

  it('accepts every mutation, then delivers every event once, in order, when the broker is back', async () => {
    const alice = await stack.token('alice');
    const created = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "during the outage" }) { id } }',
    );
    const sessionId = created.data!.createSession.id;

    broker.stop();
    for (let n = 0; n < 20; n += 1) {
      const r = await stack.gql(
        alice,
        'mutation ($s: ID!, $c: String!) { addMessage(input: { sessionId: $s, role: user, content: $c }) { id } }',
        { s: sessionId, c: `message ${n}` },
      );
      expect(r.errors).toBeUndefined();
    }
    const backlog = await stack.parley.subgraphs.sessions.relay.backlog();
    expect(backlog.count).toBeGreaterThanOrEqual(20);

    broker.restart();
    const stats = await eventually(
      async () => {
        const r = await stack.gql<{
          session: { stats: { messageCount: number; lastMessagePreview: string } };
        }>(alice, 'query ($id: ID!) { session(id: $id) { stats { messageCount lastMessagePreview } } }', {
          id: sessionId,
        });
        return r.data?.session.stats.messageCount === 20 ? r.data.session.stats : undefined;
      },
      90_000,
      'all 20 messages projected',
    );
    // Applied in per-user order: the last message written is the last one projected.
    expect(stats.lastMessagePreview).toBe('message 19');
    const feed = await eventually(
      async () => {
        const r = await stack.gql<{
          me: { activity: { edges: { node: { action: string; data: { preview?: string } } }[] } };
        }>(alice, '{ me { activity(first: 100) { edges { node { action data } } } } }');
        const nodes = r.data?.me.activity.edges.map((e) => e.node) ?? [];
        return nodes.length >= 21 ? nodes : undefined;
      },
      60_000,
      '21 audit records',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(feed).toHaveLength(21);
    const previews = feed
      .filter((n) => n.action === 'message.added')
      .map((n) => n.data.preview)
      .reverse();
    expect(previews).toEqual(Array.from({ length: 20 }, (_, n) => `message ${n}`));
  });
});
