import { z } from 'zod';

/**
 * Contracts of every event type. An event's `type` + `schemaVersion` select the schema
 * its `data` must satisfy, on produce and again on consume. Adding an optional field is
 * compatible; anything else is a new schemaVersion.
 */

const id = z.string().min(1).max(200);
const attachmentFields = { attachmentId: id, sessionId: id, messageId: id };
const uploadFields = {
  ...attachmentFields,
  contentType: z.string().max(200),
  size: z.number().int().nonnegative(),
};
const isoTime = z.iso.datetime({ offset: true });

/** A task's state after the change (optional, so older events stay valid); the stats projection keeps it. */
const taskState = {
  title: z.string().max(500).optional(),
  status: z.enum(['open', 'done', 'cancelled']).optional(),
  dueAt: isoTime.nullable().optional(),
  completedAt: isoTime.nullable().optional(),
  /** Set when the task was created by the recurrence processor as a series' next occurrence. */
  seriesId: id.nullable().optional(),
};

/**
 * How the audit writer records an event type: the entity type it concerns (the entity id is
 * the envelope's subject) and the outcome. `false` marks derived events that no one caused
 * (projections), which are not audited.
 */
export type AuditSpec =
  | {
      /** A fixed entity type, or read from the event data (security events name what they concern). */
      entityType: string | ((data: Record<string, unknown>) => string);
      outcome?: 'success' | 'failure' | 'denied';
    }
  | false;

/**
 * Contracts for a user's changes to one kind of entity: same topic, audited as that entity,
 * a common base of fields plus each type's own.
 */
const changesOf =
  <Topic extends string, Entity extends string, Base extends z.ZodRawShape>(
    topic: Topic,
    entityType: Entity,
    base: Base,
  ) =>
  <Shape extends z.ZodRawShape = Record<never, never>>(shape: Shape = {} as Shape) => ({
    topic,
    audit: { entityType },
    v1: z.object(base).extend(shape),
  });

const sessionChange = changesOf('session-events', 'session', { sessionId: id });
const taskChange = changesOf('task-events', 'task', { taskId: id, ...taskState });

export const eventContracts = {
  'session.created': {
    topic: 'session-events',
    audit: { entityType: 'session' },
    v1: z.object({ sessionId: id, title: z.string().max(500) }),
  },
  'session.renamed': {
    topic: 'session-events',
    audit: { entityType: 'session' },
    v1: z.object({ sessionId: id, title: z.string().max(500) }),
  },
  'message.added': {
    topic: 'session-events',
    audit: { entityType: 'message' },
    v1: z.object({
      sessionId: id,
      messageId: id,
      role: z.enum(['user', 'assistant', 'system', 'tool']),
      preview: z.string().max(280),
      createdAt: isoTime,
    }),
  },
  // Issue #4: every session change. The subject is the session id; userId is its owner.
  'session.favorited': sessionChange(),
  'session.unfavorited': sessionChange(),
  'session.tagged': sessionChange({ tags: z.array(z.string().max(100)).max(50) }),
  'session.archived': sessionChange(),
  'session.unarchived': sessionChange(),
  'session.deleted': sessionChange({ deletedAt: isoTime }),
  'session.restored': sessionChange(),
  /** Caused by the retention sweep (actor `system`) once the grace period of a deletion ran out. */
  'session.purged': sessionChange({ messageCount: z.number().int().nonnegative() }),
  /** The new session (sessionId) holds copies of the source's messages up to fromMessageId. */
  'session.forked': {
    topic: 'session-events',
    audit: { entityType: 'session' },
    v1: z.object({
      sessionId: id,
      title: z.string().max(500),
      sourceSessionId: id,
      fromMessageId: id,
      messageCount: z.number().int().nonnegative(),
      lastActivityAt: isoTime,
      preview: z.string().max(280),
    }),
  },
  'session.stats-updated': {
    topic: 'session-events',
    audit: false,
    v1: z.object({ sessionId: id, messageCount: z.number().int().nonnegative(), lastActivityAt: isoTime }),
  },
  // Sessions storage (docs/sessions-storage.md): the subject is the attachment, export or retention run id.
  'attachment.requested': {
    topic: 'session-events',
    audit: { entityType: 'attachment' },
    v1: z.object(uploadFields),
  },
  'attachment.ready': {
    topic: 'session-events',
    audit: { entityType: 'attachment' },
    v1: z.object({ ...uploadFields, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  },
  'attachment.removed': {
    topic: 'session-events',
    audit: { entityType: 'attachment' },
    v1: z.object({
      ...attachmentFields,
      reason: z.enum(['removed', 'message-removed', 'session-removed', 'expired', 'orphaned']),
    }),
  },
  'sessions.exported': {
    topic: 'session-events',
    audit: { entityType: 'export' },
    v1: z.object({
      exportId: id,
      format: z.enum(['JSON', 'MARKDOWN']),
      sessionId: id.nullable(),
      sessionCount: z.number().int().nonnegative(),
      messageCount: z.number().int().nonnegative(),
    }),
  },
  'messages.archived': {
    topic: 'session-events',
    audit: false,
    v1: z.object({
      runId: id,
      objectKey: z.string().max(1000),
      messageCount: z.number().int().positive(),
      cutoff: isoTime,
    }),
  },
  'task.created': taskChange({ title: z.string().max(500), sessionId: id.nullable() }),
  'task.completed': taskChange(),
  'task.updated': taskChange(),
  'task.reopened': taskChange(),
  'task.cancelled': taskChange(),
  'task.deleted': { topic: 'task-events', audit: { entityType: 'task' }, v1: z.object({ taskId: id }) },
  'reminder.scheduled': {
    topic: 'reminder-events',
    audit: { entityType: 'reminder' },
    v1: z.object({
      reminderId: id,
      taskId: id,
      remindAt: isoTime,
      offsetSeconds: z.number().int().nullable(),
    }),
  },
  'reminder.cancelled': {
    topic: 'reminder-events',
    audit: { entityType: 'reminder' },
    v1: z.object({ reminderId: id, taskId: id }),
  },
  // Fired by the reminder scheduler at the due moment; audited so the trail shows what was sent when.
  'task.reminder': {
    topic: 'reminder-events',
    audit: { entityType: 'reminder' },
    v1: z.object({
      reminderId: id,
      taskId: id,
      title: z.string().max(500),
      remindAt: isoTime,
      firedAt: isoTime,
      late: z.boolean(),
      dueAt: isoTime.nullable(),
    }),
  },
  'notification.created': {
    topic: 'notification-events',
    audit: false,
    v1: z.object({
      notificationId: id,
      cursor: z.string().max(40),
      kind: z.enum(['reminder', 'task_created']),
      title: z.string().max(600),
      taskId: id.nullable(),
    }),
  },
  'notification.read': {
    topic: 'notification-events',
    audit: { entityType: 'notification' },
    v1: z.object({ notificationId: id }),
  },
  // Security events: the subject is the entity (or credential) concerned; userId is the caller.
  'security.auth-failed': {
    topic: 'security-events',
    audit: { entityType: 'credential', outcome: 'failure' },
    v1: z.object({ reason: z.string().max(500), credential: z.enum(['jwt', 'api-key']) }),
  },
  'security.access-denied': {
    topic: 'security-events',
    audit: { entityType: (data) => String(data.entityType), outcome: 'denied' },
    v1: z.object({ entityType: z.string().max(100), entityId: id, operation: z.string().max(200) }),
  },
  // Administrative actions on the audit trail itself (the purge is appended directly by its job).
  'audit.legal-hold-placed': {
    topic: 'audit-events',
    audit: { entityType: 'legal-hold' },
    v1: z.object({
      holdId: id,
      actorId: id.nullable(),
      entityType: z.string().max(100).nullable(),
      entityId: id.nullable(),
      reason: z.string().max(1000),
    }),
  },
  'audit.legal-hold-released': {
    topic: 'audit-events',
    audit: { entityType: 'legal-hold' },
    v1: z.object({ holdId: id }),
  },
  'audit.exported': {
    topic: 'audit-events',
    audit: { entityType: 'audit-export' },
    v1: z.object({
      exportId: id,
      format: z.enum(['NDJSON', 'CSV']),
      recordCount: z.number().int().nonnegative(),
      sha256: z.string().length(64),
      filter: z.record(z.string(), z.unknown()),
    }),
  },
} as const satisfies Record<string, { topic: string; audit: AuditSpec; v1: z.ZodType }>;

export type EventType = keyof typeof eventContracts;
export type EventData<T extends EventType> = z.infer<(typeof eventContracts)[T]['v1']>;
export const eventTypes = Object.keys(eventContracts) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventContracts, type);
}
