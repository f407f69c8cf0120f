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
}

const sessionIdOf = (event: EventEnvelope) => (event.data as { sessionId: string }).sessionId;

export const subscriptionBindings: Record<string, SubscriptionBinding> = {
  sessionUpdated: {
    topic: 'session-events',
    types: ['session.stats-updated', 'session.renamed'],
    queryField: 'session',
    keyArgument: 'id',
    keyOf: sessionIdOf,
    matches: (event, args) => args.id === undefined || args.id === null || args.id === sessionIdOf(event),
  },
};
