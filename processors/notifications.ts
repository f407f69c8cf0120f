import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newEvent, type EventEnvelope } from '../platform/events/envelope.ts';
import { recordEvent } from '../platform/events/outbox.ts';
import { recordEventsBulk } from '../platform/events/outbox-bulk.ts';
import type { EventData } from '../schema/events/contracts.ts';
import { Notification } from '../subgraphs/tasks/entities.ts';

/**
 * Tasks-domain notifications: a fired reminder, or a task the assistant created from a chat,
 * becomes a persisted notification with the user's next stream position, announced as
 * notification.created through the tasks outbox in the same transaction.
 *
 * Reminders are turned into notifications by the scheduler itself, in the transaction that
 * fires them (createReminderNotifications): same schema, exactly once by the claim, and one
 * Kafka hop less between the due time and the subscriber. The consumer handles the rest.
 */
export const notificationTypes = ['task.created'] as const;

interface NotificationInput {
  ownerId: string;
  kind: 'reminder' | 'task_created';
  title: string;
  body: string | null;
  taskId: string | null;
  sourceEventId: string;
}

function persist(em: EntityManager, input: NotificationInput, seq: number): void {
  const id = randomUUID();
  em.create(Notification, {
    id,
    ownerId: input.ownerId,
    seq,
    kind: input.kind,
    title: input.title,
    body: input.body,
    taskId: input.taskId,
    sourceEventId: input.sourceEventId,
    createdAt: new Date(),
    readAt: null,
  });
  recordEvent(
    em,
    newEvent({
      type: 'notification.created',
      source: 'processors.notifications',
      subject: id,
      userId: input.ownerId,
      actor: { via: 'system' },
      data: {
        notificationId: id,
        cursor: String(seq),
        kind: input.kind,
        title: input.title,
        taskId: input.taskId,
      },
    }),
  );
}

/**
 * Notifications for a batch of fired reminders (in their order): one counter statement for the
 * whole batch, taking the users' counter rows in a fixed order so concurrent schedulers never
 * deadlock; the rows stay locked until commit, so positions are gapless and commit-ordered.
 */
export async function createReminderNotifications(
  em: EntityManager,
  fired: { ownerId: string; taskId: string; title: string; dueAt: string | null; eventId: string }[],
): Promise<void> {
  if (fired.length === 0) return;
  const counts = new Map<string, number>();
  for (const f of fired) counts.set(f.ownerId, (counts.get(f.ownerId) ?? 0) + 1);
  const rows = await em.getConnection().execute<{ owner_id: string; last_seq: string }[]>(
    `insert into tasks.notification_counters (owner_id, last_seq)
     select x.owner_id, x.n from jsonb_to_recordset(?::jsonb) as x(owner_id text, n bigint) order by x.owner_id
     on conflict (owner_id) do update set last_seq = tasks.notification_counters.last_seq + excluded.last_seq
     returning owner_id, last_seq::text`,
    [JSON.stringify([...counts].map(([owner_id, n]) => ({ owner_id, n })))],
    'all',
    em.getTransactionContext(),
  );
  const next = new Map(rows.map((r) => [r.owner_id, Number(r.last_seq) - counts.get(r.owner_id)! + 1]));
  const notes: Record<string, unknown>[] = [];
  const events: EventEnvelope[] = [];
  for (const f of fired) {
    const seq = next.get(f.ownerId)!;
    next.set(f.ownerId, seq + 1);
    const id = randomUUID();
    const title = `Reminder: ${f.title}`;
    notes.push({
      id,
      owner_id: f.ownerId,
      seq,
      title,
      body: f.dueAt ? `Due ${f.dueAt}` : null,
      task_id: f.taskId,
      source_event_id: f.eventId,
    });
    events.push(
      newEvent({
        type: 'notification.created',
        source: 'processors.notifications',
        subject: id,
        userId: f.ownerId,
        actor: { via: 'system' },
        data: { notificationId: id, cursor: String(seq), kind: 'reminder', title, taskId: f.taskId },
      }),
    );
  }
  // One statement for the rows and one for their events: no ORM entity per notification.
  await em.getConnection().execute(
    `insert into tasks.notifications (id, owner_id, seq, kind, title, body, task_id, source_event_id, created_at)
     select x.id, x.owner_id, x.seq, 'reminder', x.title, x.body, x.task_id, x.source_event_id, clock_timestamp()
       from jsonb_to_recordset(?::jsonb) as x(id uuid, owner_id text, seq bigint, title text, body text, task_id uuid, source_event_id uuid)`,
    [JSON.stringify(notes)],
    'all',
    em.getTransactionContext(),
  );
  await recordEventsBulk(em, 'tasks', events);
}

function describe(event: EventEnvelope) {
  if (event.type === 'task.created') {
    const data = event.data as EventData<'task.created'>;
    // Only tasks made for the user from a chat; a series' next occurrence is not news.
    if (!data.sessionId || (data.seriesId && data.seriesId !== data.taskId)) return null;
    return {
      kind: 'task_created' as const,
      title: `New task from chat: ${data.title}`,
      body: null,
      taskId: data.taskId,
    };
  }
  return null;
}

export async function createNotification(event: EventEnvelope, em: EntityManager): Promise<void> {
  const what = describe(event);
  if (!what) return;
  // The counter row is locked until commit, so one user's positions are gapless and commit-ordered.
  const [row] = await em.getConnection().execute<{ seq: string }[]>(
    `insert into tasks.notification_counters (owner_id, last_seq) values (?, 1)
     on conflict (owner_id) do update set last_seq = tasks.notification_counters.last_seq + 1
     returning last_seq::text as seq`,
    [event.userId],
    'all',
    em.getTransactionContext(),
  );
  persist(em, { ownerId: event.userId, ...what, sourceEventId: event.id }, Number(row!.seq));
}
