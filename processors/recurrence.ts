import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newEvent, type EventEnvelope } from '../platform/events/envelope.ts';
import { recordEvent } from '../platform/events/outbox.ts';
import type { EventData, EventType } from '../schema/events/contracts.ts';
import { Task } from '../subgraphs/tasks/entities.ts';
import { nextOccurrence } from '../subgraphs/tasks/time.ts';

/**
 * Completing an occurrence of a recurring task creates the series' next occurrence as a new
 * task. Exactly once: the insert is `on conflict (series_id, occurrence_at) do nothing`, so
 * redeliveries, retries, a reopen-and-complete or a second processor create nothing more.
 * The completed occurrence stays as it is (history).
 */
export const recurrenceTypes = ['task.completed'] as const;

export async function createNextOccurrence(event: EventEnvelope, em: EntityManager): Promise<void> {
  if (event.type !== 'task.completed') return;
  const { taskId } = event.data as EventData<'task.completed'>;
  const task = await em.findOne(Task, { id: taskId });
  if (!task?.rrule || !task.seriesId || !task.seriesStart || !task.occurrenceAt) return;
  const next = nextOccurrence(task.rrule, task.timezone, task.seriesStart, task.occurrenceAt);
  if (!next) return;
  const id = randomUUID();
  const run = <T extends Record<string, unknown>[]>(sql: string, params: unknown[]) =>
    em.getConnection().execute<T>(sql, params, 'all', em.getTransactionContext());
  const inserted = await run<{ id: string; title: string }[]>(
    `insert into tasks.tasks (id, owner_id, title, description, status, priority, labels, due_at, timezone,
        session_id, message_id, rrule, series_id, series_start, occurrence_at, created_at, updated_at)
     select ?, owner_id, title, description, 'open', priority, labels, ?, timezone,
        session_id, message_id, rrule, series_id, series_start, ?, clock_timestamp(), clock_timestamp()
       from tasks.tasks where id = ?
     on conflict (series_id, occurrence_at) where series_id is not null do nothing
     returning id, title`,
    [id, next, next, task.id],
  );
  if (inserted.length === 0) return;
  const emit = <T extends EventType>(type: T, subject: string, data: EventData<T>) =>
    recordEvent(
      em,
      newEvent({
        type,
        source: 'processors.recurrence',
        subject,
        userId: task.ownerId,
        actor: { via: 'system' },
        data,
      }),
    );
  emit('task.created', id, {
    taskId: id,
    title: task.title,
    sessionId: task.sessionId ?? null,
    status: 'open',
    dueAt: next.toISOString(),
    completedAt: null,
    seriesId: task.seriesId,
  });
  // Reminders relative to the due time carry over to the next occurrence; absolute ones do not.
  const offsets = await run<{ offset_seconds: number }[]>(
    'select distinct offset_seconds from tasks.reminders where task_id = ? and offset_seconds is not null',
    [task.id],
  );
  for (const { offset_seconds: offset } of offsets) {
    const reminderId = randomUUID();
    const remindAt = new Date(next.getTime() - offset * 1000);
    await run(
      'insert into tasks.reminders (id, task_id, owner_id, offset_seconds, remind_at) values (?, ?, ?, ?, ?)',
      [reminderId, id, task.ownerId, offset, remindAt],
    );
    emit('reminder.scheduled', reminderId, {
      reminderId,
      taskId: id,
      remindAt: remindAt.toISOString(),
      offsetSeconds: offset,
    });
  }
}
