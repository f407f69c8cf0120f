import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROOT, RUN_DIR } from '../support/env.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

const broker = (...args: string[]) =>
  execFileSync(join(ROOT, 'test/infra/kafka/broker.sh'), args, { stdio: ['ignore', 'ignore', 'inherit'] });

async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const next = await new Promise<boolean>((resolve) => {
      const s = createServer()
        .once('error', () => resolve(false))
        .listen(port + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (next) return port;
  }
}

describe('Kafka down while mutations keep arriving (a broker of this file’s own)', () => {
  let stack: TestStack;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    port = await freePortPair();
    dir = mkdtempSync(join(RUN_DIR, 'outage-kafka-'));
    broker('start', String(port), dir);
    stack = await startTestStack({ transport: 'kafka', env: { KAFKA_BROKERS: `127.0.0.1:${port}` } });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    try {
      broker('stop', dir);
    } catch {
      // already stopped
    }
  });

  it('accepts every mutation, then delivers every event once, in order, when the broker is back', async () => {
    const alice = await stack.token('alice');
    const created = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "during the outage" }) { id } }',
    );
    const sessionId = created.data!.createSession.id;

    broker('stop', dir);
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

    broker('restart', String(port), dir);
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
