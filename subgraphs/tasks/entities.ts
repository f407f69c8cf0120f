import { defineEntity, p } from '@mikro-orm/postgresql';
import { OutboxEvent } from '../../platform/events/outbox.ts';
import { ProcessedEvent } from '../../platform/events/consumer.ts';

export const TaskSchema = defineEntity({
  name: 'Task',
  tableName: 'tasks',
  properties: {
    id: p.uuid().primary(),
    ownerId: p.string(),
    title: p.string(),
    description: p.text().nullable(),
    status: p.string().default('open'),
    priority: p.integer().default(3),
    labels: p.array<string>().default([]),
    dueAt: p.datetime().nullable(),
    /** IANA zone the due time and recurrence are expressed in. */
    timezone: p.string().default('UTC'),
    parentId: p.uuid().nullable(),
    sessionId: p.uuid().nullable(),
    messageId: p.uuid().nullable(),
    /** RFC 5545 RRULE (without DTSTART: the series' first due time is the start). */
    rrule: p.text().nullable(),
    seriesId: p.uuid().nullable(),
    /** The series' first due time: the RRULE's DTSTART (COUNT and BYxxx count from it). */
    seriesStart: p.datetime().nullable(),
    /** This occurrence's place in its series (its due time when created). */
    occurrenceAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    completedAt: p.datetime().nullable(),
    cancelledAt: p.datetime().nullable(),
  },
});
export class Task extends TaskSchema.class {}
TaskSchema.setClass(Task);

/** A durable schedule row; the reminder scheduler claims it by setting firedAt. */
export const ReminderSchema = defineEntity({
  name: 'Reminder',
  tableName: 'reminders',
  properties: {
    id: p.uuid().primary(),
    taskId: p.uuid(),
    ownerId: p.string(),
    /** Seconds before the task's due time; null for an absolute reminder. */
    offsetSeconds: p.integer().nullable(),
    remindAt: p.datetime(),
    firedAt: p.datetime().nullable(),
    late: p.boolean().default(false),
    /** Set while the task is done or cancelled; reopening clears it. */
    cancelledAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Reminder extends ReminderSchema.class {}
ReminderSchema.setClass(Reminder);

export const NotificationSchema = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  properties: {
    id: p.uuid().primary(),
    ownerId: p.string(),
    /** Per-user position: the resume cursor of the notification stream. */
    seq: p.bigint('number'),
    kind: p.string(),
    title: p.string(),
    body: p.text().nullable(),
    taskId: p.uuid().nullable(),
    sourceEventId: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
    readAt: p.datetime().nullable(),
  },
});
export class Notification extends NotificationSchema.class {}
NotificationSchema.setClass(Notification);

export const tasksEntities = [Task, Reminder, Notification, OutboxEvent, ProcessedEvent];
