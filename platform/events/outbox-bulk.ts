import type { EntityManager } from '@mikro-orm/postgresql';
import { traceparentHeader } from '../telemetry.ts';
import { topicOf, type EventEnvelope } from './envelope.ts';

/**
 * Many outbox rows in one statement, in the caller's transaction, in the given order: the
 * same rows recordEvent writes, without an ORM entity per event (the reminder scheduler
 * writes thousands per second).
 */
export async function recordEventsBulk(
  em: EntityManager,
  schema: string,
  events: EventEnvelope[],
): Promise<void> {
  if (events.length === 0) return;
  const trace = traceparentHeader();
  const rows = events.map((e) => ({
    event_id: e.id,
    topic: topicOf(e.type),
    key: e.userId,
    payload: JSON.stringify(e),
    headers: { ce_type: e.type, ce_id: e.id, ...trace },
  }));
  await em.getConnection().execute(
    `insert into "${schema}".outbox (event_id, topic, key, payload, headers, created_at)
     select (x.value->>'event_id')::uuid, x.value->>'topic', x.value->>'key', x.value->>'payload', x.value->'headers', now()
       from jsonb_array_elements(?::jsonb) with ordinality as x(value, ord)
      order by x.ord`,
    [JSON.stringify(rows)],
    'all',
    em.getTransactionContext(),
  );
}
