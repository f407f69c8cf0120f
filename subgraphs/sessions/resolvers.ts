import { randomUUID } from 'node:crypto';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, notFound } from '../../platform/errors.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { recordEvent } from '../../platform/events/outbox.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { decodeCursor, pageSize, toPage } from '../../platform/graphql/pagination.ts';
import { DateTime } from '../../platform/graphql/scalars.ts';
import { Message, Session, SessionStats } from './entities.ts';

export const LIMITS = { title: 200, content: 100_000 };
const SOURCE = 'sessions';

/** Records a session-level change in the same unit of work as the change. */
function announce(em: EntityManager, type: 'session.created' | 'session.renamed', session: Session) {
  recordEvent(
    em,
    newEvent({
      type,
      source: SOURCE,
      subject: session.id,
      userId: session.ownerId,
      data: { sessionId: session.id, title: session.title },
    }),
  );
}

function validTitle(title: string): string {
  const trimmed = title.trim();
  if (trimmed === '') throw badInput('title', 'Title must not be empty');
  if (trimmed.length > LIMITS.title)
    throw badInput('title', `Title is longer than ${LIMITS.title} characters`);
  return trimmed;
}

/** Loads a session of the caller's; another user's id reads as not found (no IDOR oracle). */
async function ownSession(em: EntityManager, userId: string, id: string): Promise<Session> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('Session');
  const session = await em.findOne(Session, { id, ownerId: userId });
  if (!session) throw notFound('Session');
  return session;
}

async function listSessions(
  em: EntityManager,
  ownerId: string,
  first?: number | null,
  after?: string | null,
) {
  const size = pageSize(first);
  const cursor = decodeCursor(after);
  const rows = await em.find(
    Session,
    cursor
      ? {
          ownerId,
          $or: [{ createdAt: { $lt: cursor.time } }, { createdAt: cursor.time, id: { $lt: cursor.id } }],
        }
      : { ownerId },
    { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 },
  );
  return toPage(rows, size, (s) => s.createdAt);
}

export const sessionsResolvers: GraphQLResolverMap<DomainContext> = {
  DateTime,
  Query: {
    me: (_: unknown, __: unknown, ctx: DomainContext) => ({ id: requireUser(ctx).userId }),
    session: async (_: unknown, { id }: { id: string }, ctx: DomainContext) => {
      const user = requireUser(ctx);
      if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
      return ctx.em.findOne(Session, { id, ownerId: user.userId });
    },
    sessions: (_: unknown, args: { first?: number; after?: string }, ctx: DomainContext) =>
      listSessions(ctx.em, requireUser(ctx).userId, args.first, args.after),
  },
  Mutation: {
    createSession: async (_: unknown, { input }: { input: { title: string } }, ctx: DomainContext) => {
      const user = requireUser(ctx);
      const session = ctx.em.create(Session, {
        id: randomUUID(),
        ownerId: user.userId,
        title: validTitle(input.title),
        createdAt: new Date(),
        updatedAt: new Date(),
      });
      announce(ctx.em, 'session.created', session);
      await ctx.commit();
      return session;
    },
    renameSession: async (_: unknown, { id, title }: { id: string; title: string }, ctx: DomainContext) => {
      const user = requireUser(ctx);
      const session = await ownSession(ctx.em, user.userId, id);
      session.title = validTitle(title);
      announce(ctx.em, 'session.renamed', session);
      await ctx.commit();
      return session;
    },
    addMessage: async (
      _: unknown,
      { input }: { input: { sessionId: string; role: string; content: string } },
      ctx: DomainContext,
    ) => {
      const user = requireUser(ctx);
      if (input.content.length === 0) throw badInput('content', 'Content must not be empty');
      if (input.content.length > LIMITS.content)
        throw badInput('content', `Content is longer than ${LIMITS.content} characters`);
      const session = await ownSession(ctx.em, user.userId, input.sessionId);
      const message = ctx.em.create(Message, {
        id: randomUUID(),
        sessionId: session.id,
        ownerId: user.userId,
        role: input.role,
        content: input.content,
        createdAt: new Date(),
      });
      session.updatedAt = new Date();
      recordEvent(
        ctx.em,
        newEvent({
          type: 'message.added',
          source: SOURCE,
          subject: session.id,
          userId: user.userId,
          data: {
            sessionId: session.id,
            messageId: message.id,
            role: input.role as 'user',
            preview: input.content.slice(0, 280),
            createdAt: message.createdAt.toISOString(),
          },
        }),
      );
      await ctx.commit();
      return message;
    },
  },
  Session: {
    __resolveReference: async (ref: { id: string }, ctx: DomainContext) => {
      const user = requireUser(ctx);
      if (!/^[0-9a-f-]{36}$/i.test(ref.id)) return null;
      return ctx.em.findOne(Session, { id: ref.id, ownerId: user.userId });
    },
    owner: (session: Session) => ({ id: session.ownerId }),
    stats: async (session: Session, _: unknown, ctx: DomainContext) => {
      const stats = await ctx.em.findOne(SessionStats, { sessionId: session.id });
      return stats ?? { messageCount: 0, lastActivityAt: null, lastMessagePreview: null };
    },
    messages: async (session: Session, args: { first?: number; after?: string }, ctx: DomainContext) => {
      const size = pageSize(args.first, 50);
      const cursor = decodeCursor(args.after);
      const rows = await ctx.em.find(
        Message,
        cursor
          ? {
              sessionId: session.id,
              $or: [{ createdAt: { $gt: cursor.time } }, { createdAt: cursor.time, id: { $gt: cursor.id } }],
            }
          : { sessionId: session.id },
        { orderBy: { createdAt: 'asc', id: 'asc' }, limit: size + 1 },
      );
      return toPage(rows, size, (m) => m.createdAt);
    },
  },
  Message: {
    session: (message: Message, _: unknown, ctx: DomainContext) =>
      ownSession(ctx.em, message.ownerId, message.sessionId),
  },
  User: {
    __resolveReference: (ref: { id: string }) => ref,
    sessions: (user: { id: string }, args: { first?: number; after?: string }, ctx: DomainContext) => {
      // A user's sessions are visible to that user only.
      if (requireUser(ctx).userId !== user.id)
        return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
      return listSessions(ctx.em, user.id, args.first, args.after);
    },
  },
};
