import { randomUUID } from 'node:crypto';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, notFound } from '../../platform/errors.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { recordEvent } from '../../platform/events/outbox.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { decodeCursor, pageSize, toPage } from '../../platform/graphql/pagination.ts';
import { DateTime } from '../../platform/graphql/scalars.ts';
import { Task } from './entities.ts';

export const LIMITS = { title: 500 };
const SOURCE = 'tasks';
const isUuid = (id: string) => /^[0-9a-f-]{36}$/i.test(id);

async function ownTask(em: EntityManager, userId: string, id: string): Promise<Task> {
  const task = isUuid(id) ? await em.findOne(Task, { id, ownerId: userId }) : null;
  if (!task) throw notFound('Task');
  return task;
}

async function listTasks(
  em: EntityManager,
  ownerId: string,
  args: { first?: number; after?: string; status?: string },
) {
  const size = pageSize(args.first);
  const cursor = decodeCursor(args.after);
  const where = {
    ownerId,
    ...(args.status ? { status: args.status } : {}),
    ...(cursor
      ? { $or: [{ createdAt: { $lt: cursor.time } }, { createdAt: cursor.time, id: { $lt: cursor.id } }] }
      : {}),
  };
  const rows = await em.find(Task, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 });
  return toPage(rows, size, (t) => t.createdAt);
}

export const tasksResolvers: GraphQLResolverMap<DomainContext> = {
  DateTime,
  Query: {
    task: async (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
      isUuid(id) ? ctx.em.findOne(Task, { id, ownerId: requireUser(ctx).userId }) : null,
    tasks: (_: unknown, args: { first?: number; after?: string; status?: string }, ctx: DomainContext) =>
      listTasks(ctx.em, requireUser(ctx).userId, args),
  },
  Mutation: {
    createTask: async (
      _: unknown,
      { input }: { input: { title: string; sessionId?: string | null } },
      ctx: DomainContext,
    ) => {
      const user = requireUser(ctx);
      const title = input.title.trim();
      if (title === '') throw badInput('title', 'Title must not be empty');
      if (title.length > LIMITS.title)
        throw badInput('title', `Title is longer than ${LIMITS.title} characters`);
      if (input.sessionId && !isUuid(input.sessionId))
        throw badInput('sessionId', 'sessionId is not a valid id');
      const task = ctx.em.create(Task, {
        id: randomUUID(),
        ownerId: user.userId,
        title,
        status: 'open',
        sessionId: input.sessionId ?? null,
        createdAt: new Date(),
        completedAt: null,
      });
      recordEvent(
        ctx.em,
        newEvent({
          type: 'task.created',
          source: SOURCE,
          subject: task.id,
          userId: user.userId,
          data: { taskId: task.id, title, sessionId: task.sessionId ?? null },
        }),
      );
      await ctx.commit();
      return task;
    },
    completeTask: async (_: unknown, { id }: { id: string }, ctx: DomainContext) => {
      const user = requireUser(ctx);
      const task = await ownTask(ctx.em, user.userId, id);
      if (task.status === 'done') return task;
      task.status = 'done';
      task.completedAt = new Date();
      recordEvent(
        ctx.em,
        newEvent({
          type: 'task.completed',
          source: SOURCE,
          subject: task.id,
          userId: user.userId,
          data: { taskId: task.id },
        }),
      );
      await ctx.commit();
      return task;
    },
  },
  Task: {
    __resolveReference: (ref: { id: string }, ctx: DomainContext) =>
      isUuid(ref.id) ? ctx.em.findOne(Task, { id: ref.id, ownerId: requireUser(ctx).userId }) : null,
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
