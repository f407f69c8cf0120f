import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

interface SessionStatsView {
  session: {
    id: string;
    title: string;
    stats: { messageCount: number; lastMessagePreview: string | null };
  } | null;
}

/**
 * The walking skeleton, end to end: mutation through the router → owning subgraph
 * writes state + outbox in one transaction → transport → processor projection →
 * live update over graphql-ws → query returns the projection.
 */
export function describeSkeletonFlow(transport: 'kafka' | 'embedded') {
  describe(`the skeleton flow on the ${transport === 'kafka' ? 'real Kafka broker' : 'embedded event log'}`, () => {
    let stack: TestStack;
    let alice: string;

    beforeAll(async () => {
      stack = await startTestStack({ transport });
      alice = await stack.token('alice');
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it('runs on the expected transport', () => {
      expect(stack.parley.transport.kind).toBe(transport === 'kafka' ? 'kafka' : 'postgres');
    });

    it('streams the projection update to a subscriber and serves it to a query', async () => {
      const created = await stack.gql<{ createSession: { id: string } }>(
        alice,
        'mutation { createSession(input: { title: "Passport renewal" }) { id } }',
      );
      expect(created.errors).toBeUndefined();
      const sessionId = created.data!.createSession.id;

      const live = await stack.subscribe(
        alice,
        'subscription ($id: ID) { sessionUpdated(id: $id) { id title stats { messageCount lastMessagePreview } } }',
        { id: sessionId },
      );
      const added = await stack.gql(
        alice,
        'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "Renew it every March" }) { id } }',
        { s: sessionId },
      );
      expect(added.errors).toBeUndefined();

      // The session.created projection may arrive first; wait for the one with the message.
      let payload = await live.next(20_000);
      while ((payload.data?.sessionUpdated as { stats: { messageCount: number } }).stats.messageCount < 1)
        payload = await live.next(20_000);
      expect(payload.errors).toBeUndefined();
      expect(payload.data).toEqual({
        sessionUpdated: {
          id: sessionId,
          title: 'Passport renewal',
          stats: { messageCount: 1, lastMessagePreview: 'Renew it every March' },
        },
      });

      const read = await stack.gql<SessionStatsView>(
        alice,
        'query ($id: ID!) { session(id: $id) { id title stats { messageCount lastMessagePreview } } }',
        { id: sessionId },
      );
      expect(read.data?.session?.stats).toEqual({
        messageCount: 1,
        lastMessagePreview: 'Renew it every March',
      });
      await live.close();
    });

    it('resolves a task created from a chat session across subgraphs', async () => {
      const session = await stack.gql<{ createSession: { id: string } }>(
        alice,
        'mutation { createSession(input: { title: "Groceries" }) { id } }',
      );
      const sessionId = session.data!.createSession.id;
      const task = await stack.gql<{ createTask: { id: string; session: { title: string } } }>(
        alice,
        'mutation ($s: ID) { createTask(input: { title: "Buy milk", sessionId: $s }) { id session { title } } }',
        { s: sessionId },
      );
      expect(task.data?.createTask.session.title).toBe('Groceries');
      const back = await stack.gql<{ session: { tasks: { title: string }[] } }>(
        alice,
        'query ($id: ID!) { session(id: $id) { tasks { title } } }',
        { id: sessionId },
      );
      expect(back.data?.session.tasks).toEqual([{ title: 'Buy milk' }]);
    });

    it('records every mutation in the caller’s activity feed through the audit writer', async () => {
      const feed = await eventually(
        async () => {
          const r = await stack.gql<{
            me: { activity: { edges: { node: { action: string; actorId: string } }[] } };
          }>(alice, 'query { me { activity(first: 50) { edges { node { action actorId } } } } }');
          const records = r.data?.me.activity.edges.map((e) => e.node) ?? [];
          return records.length >= 4 ? records : undefined;
        },
        20_000,
        'four audit records',
      );
      expect(feed.map((r) => r.action).sort()).toEqual([
        'message.added',
        'session.created',
        'session.created',
        'task.created',
      ]);
      expect(feed.every((r) => r.actorId === 'alice')).toBe(true);
    });
  });
}
