import { randomUUID } from 'node:crypto';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { badInput } from '../../platform/errors.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { decodeCursor, pageSize, toPage } from '../../platform/graphql/pagination.ts';
import { DateTime } from '../../platform/graphql/scalars.ts';
import { isUuid, ownedForChange, ownedOrNull } from '../../platform/graphql/owned.ts';
import { Reminder, Task } from './entities.ts';
import {
  addReminders,
  cancelForDeletion,
  followDueTime,
  replaceReminders,
  resumeReminders,
  suspendReminders,
  validateReminders,
  type Emit,
  type ReminderInput,
} from './reminders.ts';
import { MAX_DUE_TEXT, dayBounds, isTimeZone, localText, parseDue, rruleProblem } from './time.ts';
import { notificationResolvers } from './notifications.ts';
import { readTaskStats } from './stats.ts';

export const LIMITS = {
  title: 500,
  description: 10_000,
  labels: 20,
  label: 50,
  subtasks: 100,
};
const TASK = { entity: Task, type: 'task', label: 'Task' };
const ownTask = (ctx: DomainContext, id: string, operation: string) =>
  ownedForChange(ctx, TASK, id, operation);

interface TaskFilter {
  status?: string[] | null;
  dueAfter?: Date | null;
  dueBefore?: Date | null;
  overdue?: boolean | null;
  dueToday?: boolean | null;
  timezone?: string | null;
  label?: string | null;
  sessionId?: string | null;
  parentId?: string | null;
}

function zoneOf(zone: string | null | undefined, field: string): string {
  if (zone === null || zone === undefined) return 'UTC';
  if (zone.length > 64 || !isTimeZone(zone))
    throw badInput(field, `Unknown IANA time zone "${zone.slice(0, 64)}"`);
  return zone;
}

async function listTasks(
  em: EntityManager,
  ownerId: string,
  args: { first?: number; after?: string; status?: string | null; filter?: TaskFilter | null },
) {
  const size = pageSize(args.first);
  const cursor = decodeCursor(args.after);
  const f = args.filter ?? {};
  const and: FilterQuery<Task>[] = [{ ownerId }];
  if (args.status) and.push({ status: args.status });
  if (f.status?.length) and.push({ status: { $in: f.status } });
  if (f.dueAfter) and.push({ dueAt: { $gte: f.dueAfter } });
  if (f.dueBefore) and.push({ dueAt: { $lt: f.dueBefore } });
  if (f.overdue) and.push({ status: 'open', dueAt: { $lt: new Date() } });
  if (f.dueToday) {
    const { start, end } = dayBounds(zoneOf(f.timezone, 'filter.timezone'), new Date());
    and.push({ dueAt: { $gte: start, $lt: end } });
  }
  if (f.label) and.push({ labels: { $contains: [f.label] } });
  if (f.sessionId) and.push({ sessionId: isUuid(f.sessionId) ? f.sessionId : randomUUID() });
  if (f.parentId) and.push({ parentId: isUuid(f.parentId) ? f.parentId : randomUUID() });
  if (cursor)
    and.push({
      $or: [{ createdAt: { $lt: cursor.time } }, { createdAt: cursor.time, id: { $lt: cursor.id } }],
    });
  const rows = await em.find(
    Task,
    { $and: and },
    { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 },
  );
  return toPage(rows, size, (t) => t.createdAt);
}

const eventState = (t: Task) => ({
  title: t.title,
  status: t.status as 'open' | 'done' | 'cancelled',
  dueAt: t.dueAt ? t.dueAt.toISOString() : null,
  completedAt: t.completedAt ? t.completedAt.toISOString() : null,
  seriesId: t.seriesId ?? null,
});

const emitterOf =
  (ctx: DomainContext): Emit =>
  (type, subject, data) =>
    ctx.emit(type, subject, data);

function text(value: string | null | undefined, field: string, max: number): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed.length > max) throw badInput(field, `${field} is longer than ${max} characters`);
  return trimmed === '' ? null : trimmed;
}

function title(value: string): string {
  const t = text(value, 'title', LIMITS.title);
  if (!t) throw badInput('title', 'Title must not be empty');
  return t;
}

function labels(values: string[]): string[] {
  if (values.length > LIMITS.labels) throw badInput('labels', `At most ${LIMITS.labels} labels`);
  const clean = values.map((l) => l.trim());
  if (clean.some((l) => l === '' || l.length > LIMITS.label))
    throw badInput('labels', `A label has 1 to ${LIMITS.label} characters`);
  return [...new Set(clean)];
}

function priority(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 4) throw badInput('priority', 'priority is 1 to 4');
  return value;
}

function dueOf(
  input: { dueAt?: Date | null; dueText?: string | null },
  zone: string,
): Date | null | undefined {
  if (input.dueText !== undefined && input.dueText !== null) {
    if (input.dueAt) throw badInput('dueText', 'Give dueAt or dueText, not both');
    if (input.dueText.length > MAX_DUE_TEXT)
      throw badInput('dueText', `dueText is longer than ${MAX_DUE_TEXT} characters`);
    const parsed = parseDue(input.dueText, zone);
    if (!parsed) throw badInput('dueText', `No date or time understood in "${input.dueText}"`);
    return parsed.at;
  }
  return input.dueAt;
}

function rruleOf(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const rule = value.trim().replace(/^RRULE:/i, '');
  const problem = rruleProblem(rule);
  if (problem) throw badInput('rrule', problem);
  return rule;
}

interface CreateInput {
  title: string;
  description?: string | null;
  priority?: number | null;
  labels?: string[] | null;
  dueAt?: Date | null;
  dueText?: string | null;
  timezone?: string | null;
  rrule?: string | null;
  parentId?: string | null;
  sessionId?: string | null;
  messageId?: string | null;
  reminders?: ReminderInput[] | null;
}

type UpdateInput = Omit<CreateInput, 'title' | 'parentId' | 'sessionId' | 'messageId'> & {
  title?: string | null;
  clearDue?: boolean | null;
  clearRrule?: boolean | null;
};

async function createTask(ctx: DomainContext, input: CreateInput): Promise<Task> {
  const user = requireUser(ctx);
  const zone = zoneOf(input.timezone, 'timezone');
  const dueAt = dueOf(input, zone) ?? null;
  const rrule = rruleOf(input.rrule);
  if (rrule && !dueAt) throw badInput('rrule', 'A recurring task needs a due time (its first occurrence)');
  for (const field of ['sessionId', 'messageId', 'parentId'] as const) {
    const value = input[field];
    if (value && !isUuid(value)) throw badInput(field, `${field} is not a valid id`);
  }
  if (input.parentId) {
    const parent = await ownTask(ctx, input.parentId, 'createTask');
    if (parent.parentId) throw badInput('parentId', 'Subtasks cannot have subtasks');
    if ((await ctx.em.count(Task, { parentId: parent.id })) >= LIMITS.subtasks)
      throw badInput('parentId', `A task has at most ${LIMITS.subtasks} subtasks`);
  }
  const specs = validateReminders(input.reminders ?? [], dueAt);
  const id = randomUUID();
  const now = new Date();
  const task = ctx.em.create(Task, {
    id,
    ownerId: user.userId,
    title: title(input.title),
    description: text(input.description, 'description', LIMITS.description),
    status: 'open',
    priority: priority(input.priority ?? 3),
    labels: labels(input.labels ?? []),
    dueAt,
    timezone: zone,
    parentId: input.parentId ?? null,
    sessionId: input.sessionId ?? null,
    messageId: input.messageId ?? null,
    rrule,
    seriesId: rrule ? id : null,
    seriesStart: rrule ? dueAt : null,
    occurrenceAt: rrule ? dueAt : null,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
    cancelledAt: null,
  });
  ctx.emit('task.created', task.id, {
    ...eventState(task),
    taskId: task.id,
    title: task.title,
    sessionId: task.sessionId ?? null,
  });
  addReminders(ctx.em, task, specs, emitterOf(ctx));
  await ctx.commit();
  return task;
}

async function updateTask(ctx: DomainContext, id: string, input: UpdateInput): Promise<Task> {
  const task = await ownTask(ctx, id, 'updateTask');
  const changes: Record<string, { before?: unknown; after?: unknown }> = {};
  const set = <K extends 'title' | 'description' | 'priority' | 'labels' | 'dueAt' | 'timezone' | 'rrule'>(
    key: K,
    value: Task[K],
  ) => {
    const before = task[key];
    const same =
      before instanceof Date && value instanceof Date
        ? before.getTime() === value.getTime()
        : JSON.stringify(before) === JSON.stringify(value);
    if (same) return;
    changes[key] = { before, after: value };
    task[key] = value;
  };
  if (input.title !== undefined && input.title !== null) set('title', title(input.title));
  if (input.description !== undefined)
    set('description', text(input.description, 'description', LIMITS.description));
  if (input.priority !== undefined && input.priority !== null) set('priority', priority(input.priority));
  if (input.labels !== undefined && input.labels !== null) set('labels', labels(input.labels));
  if (input.timezone !== undefined && input.timezone !== null)
    set('timezone', zoneOf(input.timezone, 'timezone'));
  if (input.clearDue) {
    if (input.dueAt || input.dueText) throw badInput('clearDue', 'clearDue with a new due time');
    set('dueAt', null);
  } else {
    const due = dueOf(input, task.timezone);
    if (due) set('dueAt', due);
  }
  if (input.clearRrule) set('rrule', null);
  else if (input.rrule !== undefined && input.rrule !== null) set('rrule', rruleOf(input.rrule));
  if (task.rrule && !task.dueAt) throw badInput('rrule', 'A recurring task needs a due time');
  // A new rule, zone or due time of a recurring task starts a new series from this occurrence.
  if (task.rrule && (changes.rrule || changes.timezone || changes.dueAt)) {
    task.seriesId = task.id;
    task.seriesStart = task.dueAt;
    task.occurrenceAt = task.dueAt;
  }
  if (!task.rrule && changes.rrule) {
    task.seriesId = null;
    task.seriesStart = null;
    task.occurrenceAt = null;
  }
  const emit = emitterOf(ctx);
  if (changes.dueAt) await followDueTime(ctx.em, task, emit);
  if (input.reminders !== undefined && input.reminders !== null) {
    await replaceReminders(ctx.em, task, validateReminders(input.reminders, task.dueAt ?? null), emit);
    changes.reminders = { after: input.reminders.length };
  }
  if (Object.keys(changes).length === 0) return task;
  task.updatedAt = new Date();
  ctx.emit('task.updated', task.id, { taskId: task.id, ...eventState(task) }, { changes });
  await ctx.commit();
  return task;
}

type Transition = 'completeTask' | 'reopenTask' | 'cancelTask';
const TRANSITIONS: Record<
  Transition,
  { to: 'open' | 'done' | 'cancelled'; event: 'task.completed' | 'task.reopened' | 'task.cancelled' }
> = {
  completeTask: { to: 'done', event: 'task.completed' },
  reopenTask: { to: 'open', event: 'task.reopened' },
  cancelTask: { to: 'cancelled', event: 'task.cancelled' },
};

/** Status changes; repeating one (completing a done task) changes nothing and emits nothing. */
async function transition(ctx: DomainContext, id: string, operation: Transition): Promise<Task> {
  const task = await ownTask(ctx, id, operation);
  const { to, event } = TRANSITIONS[operation];
  if (task.status === to) return task;
  const before = task.status;
  const now = new Date();
  task.status = to;
  task.completedAt = to === 'done' ? now : null;
  task.cancelledAt = to === 'cancelled' ? now : null;
  task.updatedAt = now;
  const emit = emitterOf(ctx);
  if (to === 'open') await resumeReminders(ctx.em, task, emit, now);
  else await suspendReminders(ctx.em, task, emit, now);
  ctx.emit(
    event,
    task.id,
    { taskId: task.id, ...eventState(task) },
    { changes: { status: { before, after: to } } },
  );
  await ctx.commit();
  return task;
}

async function deleteTask(ctx: DomainContext, id: string): Promise<string> {
  const task = await ownTask(ctx, id, 'deleteTask');
  const subtasks = await ctx.em.find(Task, { parentId: task.id });
  const emit = emitterOf(ctx);
  for (const t of [...subtasks, task]) {
    await cancelForDeletion(ctx.em, t.id, emit);
    ctx.emit('task.deleted', t.id, { taskId: t.id }, { changes: { title: { before: t.title } } });
  }
  // Subtasks and reminders go by foreign-key cascade, in the flush that writes the events.
  ctx.em.remove(task);
  await ctx.commit();
  return task.id;
}

export const tasksResolvers: GraphQLResolverMap<DomainContext> = {
  DateTime,
  Query: {
    task: (_: unknown, { id }: { id: string }, ctx: DomainContext) => ownedOrNull(ctx, TASK, id, 'task'),
    tasks: (
      _: unknown,
      args: { first?: number; after?: string; status?: string; filter?: TaskFilter },
      ctx: DomainContext,
    ) => listTasks(ctx.em, requireUser(ctx).userId, args),
    parseDue: (_: unknown, args: { text: string; timezone: string }, ctx: DomainContext) => {
      requireUser(ctx);
      if (args.text.length > MAX_DUE_TEXT)
        throw badInput('text', `text is longer than ${MAX_DUE_TEXT} characters`);
      const zone = zoneOf(args.timezone, 'timezone');
      const parsed = parseDue(args.text, zone);
      return parsed ? { ...parsed, timezone: zone } : null;
    },
    taskStats: (_: unknown, args: { timezone?: string | null }, ctx: DomainContext) =>
      readTaskStats(ctx.em, requireUser(ctx).userId, zoneOf(args.timezone, 'timezone')),
    ...notificationResolvers.Query,
  },
  Mutation: {
    createTask: (_: unknown, { input }: { input: CreateInput }, ctx: DomainContext) => createTask(ctx, input),
    updateTask: (_: unknown, args: { id: string; input: UpdateInput }, ctx: DomainContext) =>
      updateTask(ctx, args.id, args.input),
    completeTask: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
      transition(ctx, id, 'completeTask'),
    reopenTask: (_: unknown, { id }: { id: string }, ctx: DomainContext) => transition(ctx, id, 'reopenTask'),
    cancelTask: (_: unknown, { id }: { id: string }, ctx: DomainContext) => transition(ctx, id, 'cancelTask'),
    deleteTask: (_: unknown, { id }: { id: string }, ctx: DomainContext) => deleteTask(ctx, id),
    ...notificationResolvers.Mutation,
  },
  Notification: notificationResolvers.Notification,
  Task: {
    __resolveReference: (ref: { id: string }, ctx: DomainContext) =>
      isUuid(ref.id) ? ctx.em.findOne(Task, { id: ref.id, ownerId: requireUser(ctx).userId }) : null,
    dueLocal: (task: Task) => (task.dueAt ? localText(task.dueAt, task.timezone) : null),
    parent: (task: Task, _: unknown, ctx: DomainContext) =>
      task.parentId ? ctx.em.findOne(Task, { id: task.parentId, ownerId: task.ownerId }) : null,
    subtasks: (task: Task, _: unknown, ctx: DomainContext) =>
      ctx.em.find(
        Task,
        { parentId: task.id, ownerId: task.ownerId },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      ),
    reminders: async (task: Task, _: unknown, ctx: DomainContext) =>
      (await ctx.em.find(Reminder, { taskId: task.id }, { orderBy: { remindAt: 'asc', id: 'asc' } })).map(
        (r) => ({
          id: r.id,
          at: r.remindAt,
          beforeDue: r.offsetSeconds ?? null,
          firedAt: r.firedAt ?? null,
          late: r.late,
          suspended: !r.firedAt && !!r.cancelledAt,
        }),
      ),
    session: (task: Task) => (task.sessionId ? { __typename: 'Session', id: task.sessionId } : null),
    owner: (task: Task) => ({ id: task.ownerId }),
  },
  Session: {
    __resolveReference: (ref: { id: string }) => ref,
    tasks: (session: { id: string }, _: unknown, ctx: DomainContext) =>
      isUuid(session.id)
        ? ctx.em.find(
            Task,
            { sessionId: session.id, ownerId: requireUser(ctx).userId },
            { orderBy: { createdAt: 'asc' } },
          )
        : [],
  },
  User: {
    __resolveReference: (ref: { id: string }) => ref,
    tasks: (user: { id: string }, args: { first?: number; after?: string }, ctx: DomainContext) =>
      requireUser(ctx).userId === user.id
        ? listTasks(ctx.em, user.id, args)
        : { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
  },
};
