import type { EntityManager } from '@mikro-orm/postgresql';
import { createDatabase, type Database } from '../../platform/db/orm.ts';
import { topicOf, type EventEnvelope } from '../../platform/events/envelope.ts';
import type { OutgoingMessage } from '../../platform/events/transport.ts';
import type { Logger } from '../../platform/logger.ts';
import { sessionsEntities } from '../../subgraphs/sessions/entities.ts';
import { sessionsMigrations } from '../../subgraphs/sessions/migrations.ts';

/**
 * A consumer's observable effect for runtime tests: one row per applied event, in a
 * table beside the sessions schema's processed_events (so both share a transaction).
 */
export async function openEffectsDb(url: string, logger: Logger): Promise<Database> {
  const db = await createDatabase({
    url,
    schema: 'sessions',
    entities: sessionsEntities,
    migrations: sessionsMigrations,
    logger,
    poolSize: 3,
  });
  await db.orm.em
    .getConnection()
    .execute('create table if not exists sessions.test_effects (event_id uuid, task_id text)');
  return db;
}

export async function recordEffect(event: EventEnvelope, em: EntityManager): Promise<void> {
  await em
    .getConnection()
    .execute(
      'insert into sessions.test_effects (event_id, task_id) values (?, ?)',
      [event.id, event.subject],
      'all',
      em.getTransactionContext(),
    );
}

export const effectCount = async (db: Database, taskId: string) =>
  (await db.orm.em.getConnection().execute(`select 1 from sessions.test_effects where task_id = ?`, [taskId]))
    .length;

/** An event as the relay would publish it. */
export const asMessage = (event: EventEnvelope): OutgoingMessage => ({
  topic: topicOf(event.type),
  key: event.userId,
  value: JSON.stringify(event),
  headers: { ce_type: event.type, ce_id: event.id },
});
