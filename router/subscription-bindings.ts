import type { EventEnvelope } from '../platform/events/envelope.ts';

/**
 * Declarative ties between subscription fields and events. An event names the entity
 * that changed; the router then resolves the subscriber's selection on that entity
 * through the gateway, with the subscriber's identity.
 */
export interface SubscriptionBinding {
  topic: string;
  types: readonly string[];
  /** The query root field that loads the entity, and its key argument. */
  queryField: string;
  keyArgument: string;
  keyOf(event: EventEnvelope): string;
  /** Whether an event concerns a subscriber who passed these arguments. */
  matches(event: EventEnvelope, args: Record<string, unknown>): boolean;
  /** For streams with positions: replay after a client's last cursor, then live, none twice. */
  resume?: ResumeSpec;
}

export interface ResumeSpec {
  /** The subscription argument carrying the last cursor the client saw. */
  argument: string;
  /** The event's position in its user's stream (increasing in delivery order). */
  positionOf(event: EventEnvelope): number;
  /**
   * Query run as the subscriber with `$after: String!`; its `missed` field lists, oldest
   * first, `{ key, position }` of what came after, at most `pageSize` per call.
   */
  missedQuery: string;
  pageSize: number;
}

const sessionIdOf = (event: EventEnvelope) => (event.data as { sessionId: string }).sessionId;

export const subscriptionBindings: Record<string, SubscriptionBinding> = {
  sessionUpdated: {
    topic: 'session-events',
    types: [
      'session.stats-updated',
      'session.renamed',
      // Issue #4: every other change a subscriber can see on the session itself.
      'session.favorited',
      'session.unfavorited',
      'session.tagged',
      'session.archived',
      'session.unarchived',
      'session.deleted',
      'session.restored',
    ],
    queryField: 'session',
    keyArgument: 'id',
    keyOf: sessionIdOf,
    matches: (event, args) => args.id === undefined || args.id === null || args.id === sessionIdOf(event),
  },
  notificationAdded: {
    topic: 'notification-events',
    types: ['notification.created'],
    queryField: 'notification',
    keyArgument: 'id',
    keyOf: (event) => (event.data as { notificationId: string }).notificationId,
    matches: () => true,
    resume: {
      argument: 'after',
      positionOf: (event) => Number((event.data as { cursor: string }).cursor),
      missedQuery:
        'query ($after: String!) { missed: notificationsSince(after: $after, first: 100) { key: id position: cursor } }',
      pageSize: 100,
    },
  },
};
