import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../../platform/errors.ts';
import type { EventData, EventType } from '../../schema/events/contracts.ts';
import { Reminder, type Task } from './entities.ts';

/**
 * The durable reminder schedule of a task. Pending = not fired and not suspended; the
 * scheduler (processors/reminder-scheduler.ts) fires pending rows at remind_at.
 */

export const MAX_REMINDERS = 10;
/** A relative reminder at most a year before the due time. */
export const MAX_BEFORE_DUE_SECONDS = 366 * 24 * 3600;

export type Emit = <T extends EventType>(type: T, subject: string, data: EventData<T>) => void;

export interface ReminderInput {
  at?: Date | null;
  beforeDue?: number | null;
}

interface ReminderSpec {
  offsetSeconds: number | null;
  at: Date | null;
}

export function validateReminders(inputs: ReminderInput[], dueAt: Date | null): ReminderSpec[] {
  if (inputs.length > MAX_REMINDERS)
    throw badInput('reminders', `A task has at most ${MAX_REMINDERS} reminders`);
  return inputs.map((input) => {
    const hasAt = input.at !== undefined && input.at !== null;
    const hasOffset = input.beforeDue !== undefined && input.beforeDue !== null;
    if (hasAt === hasOffset) throw badInput('reminders', 'A reminder has either at or beforeDue');
    if (hasOffset) {
      const offset = input.beforeDue!;
      if (!Number.isInteger(offset) || offset < 0 || offset > MAX_BEFORE_DUE_SECONDS)
        throw badInput('reminders', `beforeDue must be between 0 and ${MAX_BEFORE_DUE_SECONDS} seconds`);
      if (!dueAt) throw badInput('reminders', 'A reminder relative to the due time needs a due time');
      return { offsetSeconds: offset, at: null };
    }
    return { offsetSeconds: null, at: input.at! };
  });
}

const timeOf = (spec: ReminderSpec, dueAt: Date | null) =>
  spec.at ?? new Date(dueAt!.getTime() - spec.offsetSeconds! * 1000);

function schedule(em: EntityManager, task: Task, spec: ReminderSpec, emit: Emit): Reminder {
  const reminder = em.create(Reminder, {
    id: randomUUID(),
    taskId: task.id,
    ownerId: task.ownerId,
    offsetSeconds: spec.offsetSeconds,
    remindAt: timeOf(spec, task.dueAt ?? null),
    firedAt: null,
    late: false,
    cancelledAt: null,
    createdAt: new Date(),
  });
  announce(reminder, emit);
  return reminder;
}

const announce = (r: Reminder, emit: Emit) =>
  emit('reminder.scheduled', r.id, {
    reminderId: r.id,
    taskId: r.taskId,
    remindAt: r.remindAt.toISOString(),
    offsetSeconds: r.offsetSeconds ?? null,
  });

export function addReminders(em: EntityManager, task: Task, specs: ReminderSpec[], emit: Emit): void {
  for (const spec of specs) schedule(em, task, spec, emit);
}

const unfired = (em: EntityManager, taskId: string) =>
  em.find(Reminder, { taskId, firedAt: null }, { orderBy: { remindAt: 'asc' } });

/** Replaces the task's unfired reminders; fired ones stay as history. */
export async function replaceReminders(em: EntityManager, task: Task, specs: ReminderSpec[], emit: Emit) {
  for (const r of await unfired(em, task.id)) {
    em.remove(r);
    emit('reminder.cancelled', r.id, { reminderId: r.id, taskId: task.id });
  }
  addReminders(em, task, specs, emit);
}

/**
 * After the due time changed: relative reminders move with it (a relative one that already
 * fired is scheduled again when its new time is still ahead); without a due time they go.
 */
export async function followDueTime(em: EntityManager, task: Task, emit: Emit, now = new Date()) {
  const all = await em.find(Reminder, { taskId: task.id, offsetSeconds: { $ne: null } });
  const pendingOffsets = new Set<number>();
  for (const r of all.filter((x) => !x.firedAt)) {
    if (!task.dueAt) {
      em.remove(r);
      emit('reminder.cancelled', r.id, { reminderId: r.id, taskId: task.id });
      continue;
    }
    r.remindAt = timeOf({ offsetSeconds: r.offsetSeconds ?? 0, at: null }, task.dueAt);
    pendingOffsets.add(r.offsetSeconds ?? 0);
    if (!r.cancelledAt) announce(r, emit);
  }
  if (!task.dueAt || task.status !== 'open') return;
  for (const r of all.filter((x) => x.firedAt)) {
    const offset = r.offsetSeconds ?? 0;
    const at = timeOf({ offsetSeconds: offset, at: null }, task.dueAt);
    if (at > now && !pendingOffsets.has(offset)) {
      pendingOffsets.add(offset);
      schedule(em, task, { offsetSeconds: offset, at: null }, emit);
    }
  }
}

/** Completion or cancellation suspends the pending reminders; they never fire for a closed task. */
export async function suspendReminders(em: EntityManager, task: Task, emit: Emit, now = new Date()) {
  for (const r of await unfired(em, task.id)) {
    if (r.cancelledAt) continue;
    r.cancelledAt = now;
    emit('reminder.cancelled', r.id, { reminderId: r.id, taskId: task.id });
  }
}

/** Reopening resumes the suspended reminders that are still ahead. */
export async function resumeReminders(em: EntityManager, task: Task, emit: Emit, now = new Date()) {
  for (const r of await unfired(em, task.id)) {
    if (!r.cancelledAt || r.remindAt <= now) continue;
    r.cancelledAt = null;
    announce(r, emit);
  }
}

/** Pending reminders of a deleted task are announced as cancelled (the rows go with the task). */
export async function cancelForDeletion(em: EntityManager, taskId: string, emit: Emit) {
  for (const r of await unfired(em, taskId))
    if (!r.cancelledAt) emit('reminder.cancelled', r.id, { reminderId: r.id, taskId });
}
