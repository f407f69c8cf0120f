import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { decodeCursor, encodeCursor, pageSize, type Page } from '../../platform/graphql/pagination.ts';
import type { FieldChanges } from '../../platform/events/envelope.ts';
import type { EventData, EventType } from '../../schema/events/contracts.ts';
import { SESSION, Session, SessionStats } from './entities.ts';
import { conflict, isUuid, validTags, validTitle } from './validation.ts';
import { ownedForChange, ownedOrNull } from '../../platform/graphql/owned.ts';

/**
 * Loads a session of the caller's for a change; another user's id reads as not found (no
 * IDOR oracle) and is audited as denied. A soft-deleted session only accepts delete/restore.
 */
export async function ownSession(
  ctx: DomainContext,
  id: string,
  operation: string,
  options: { allowDeleted?: boolean } = {},
): Promise<Session> {
  const session = await ownedForChange(ctx, SESSION, id, operation);
  if (session.deletedAt && !options.allowDeleted) throw conflict('Session is deleted; restore it first');
  return session;
}

export interface SessionFilter {
  favorite?: boolean | null;
  archived?: boolean | null;
  tag?: string | null;
  deleted?: boolean | null;
}
export type SessionOrder = 'CREATED_AT' | 'LAST_ACTIVITY';
export interface SessionListArgs {
  first?: number | null;
  after?: string | null;
  filter?: SessionFilter | null;
  orderBy?: SessionOrder | null;
}

/**
 * Keyset page over the caller's sessions. LAST_ACTIVITY sorts by the stats projection's last
 * activity (creation time until the first message), so the list follows the processors.
 */
export async function listSessions(
  em: EntityManager,
  ownerId: string,
  args: SessionListArgs,
): Promise<Page<Session>> {
  const size = pageSize(args.first);
  const cursor = decodeCursor(args.after);
  const filter = args.filter ?? {};
  const sortKey =
    args.orderBy === 'LAST_ACTIVITY' ? 'coalesce(st.last_activity_at, s.created_at)' : 's.created_at';
  const where = ['s.owner_id = ?', filter.deleted ? 's.deleted_at is not null' : 's.deleted_at is null'];
  const params: unknown[] = [ownerId];
  if (filter.favorite !== null && filter.favorite !== undefined) {
    where.push('s.favorite = ?');
    params.push(filter.favorite);
  }
  if (filter.archived !== null && filter.archived !== undefined)
    where.push(filter.archived ? 's.archived_at is not null' : 's.archived_at is null');
  if (filter.tag !== null && filter.tag !== undefined) {
    where.push('s.tags @> array[?]::text[]');
    params.push(filter.tag.trim().toLowerCase());
  }
  if (cursor) {
    where.push(`(${sortKey}, s.id) < (?, ?)`);
    params.push(cursor.time, cursor.id);
  }
  const rows = await em.getConnection().execute<{ id: string; sort_at: Date }[]>(
    `select s.id, ${sortKey} as sort_at
       from sessions.sessions s left join sessions.session_stats st on st.session_id = s.id
      where ${where.join(' and ')}
      order by ${sortKey} desc, s.id desc
      limit ${size + 1}`,
    params,
  );
  const page = rows.slice(0, size);
  const sessions = await em.find(Session, { id: { $in: page.map((r) => r.id) } });
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const edges = page.flatMap((r) => {
    const node = byId.get(r.id);
    return node ? [{ cursor: encodeCursor(new Date(r.sort_at), r.id), node }] : [];
  });
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** Applies one change to a session of the caller's and records its event in the same unit of work. */
async function changeSession<T extends EventType>(
  ctx: DomainContext,
  id: string,
  operation: string,
  apply: (session: Session) => { type: T; data: EventData<T>; changes?: FieldChanges } | null,
  options: { allowDeleted?: boolean } = {},
): Promise<Session> {
  const session = await ownSession(ctx, id, operation, options);
  const change = apply(session);
  // A change to the state the session already has is a no-op: nothing written, no event.
  if (!change) return session;
  session.updatedAt = new Date();
  ctx.emit(change.type, session.id, change.data, change.changes ? { changes: change.changes } : {});
  await ctx.commit();
  return session;
}

const flag = (field: string, before: unknown, after: unknown): FieldChanges => ({
  [field]: { before, after },
});

export const sessionMutations = {
  createSession: async (
    _: unknown,
    { input }: { input: { title: string; tags?: string[] | null } },
    ctx: DomainContext,
  ) => {
    const user = requireUser(ctx);
    const now = new Date();
    const session = ctx.em.create(Session, {
      id: randomUUID(),
      ownerId: user.userId,
      title: validTitle(input.title),
      tags: validTags(input.tags ?? []),
      favorite: false,
      messageSeq: 0,
      createdAt: now,
      updatedAt: now,
    });
    ctx.emit('session.created', session.id, { sessionId: session.id, title: session.title });
    if (session.tags.length > 0)
      ctx.emit('session.tagged', session.id, { sessionId: session.id, tags: session.tags });
    await ctx.commit();
    return session;
  },
  renameSession: (_: unknown, { id, title }: { id: string; title: string }, ctx: DomainContext) => {
    const next = validTitle(title);
    return changeSession(ctx, id, 'renameSession', (s) => {
      if (s.title === next) return null;
      const before = s.title;
      s.title = next;
      return {
        type: 'session.renamed',
        data: { sessionId: s.id, title: next },
        changes: flag('title', before, next),
      };
    });
  },
  favoriteSession: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    changeSession(ctx, id, 'favoriteSession', (s) => {
      if (s.favorite) return null;
      s.favorite = true;
      return { type: 'session.favorited', data: { sessionId: s.id }, changes: flag('favorite', false, true) };
    }),
  unfavoriteSession: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    changeSession(ctx, id, 'unfavoriteSession', (s) => {
      if (!s.favorite) return null;
      s.favorite = false;
      return {
        type: 'session.unfavorited',
        data: { sessionId: s.id },
        changes: flag('favorite', true, false),
      };
    }),
  tagSession: (_: unknown, { id, tags }: { id: string; tags: string[] }, ctx: DomainContext) => {
    const next = validTags(tags);
    return changeSession(ctx, id, 'tagSession', (s) => {
      const before = [...s.tags];
      if (before.length === next.length && before.every((t, i) => t === next[i])) return null;
      s.tags = next;
      return {
        type: 'session.tagged',
        data: { sessionId: s.id, tags: next },
        changes: flag('tags', before, next),
      };
    });
  },
  archiveSession: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    changeSession(ctx, id, 'archiveSession', (s) => {
      if (s.archivedAt) return null;
      s.archivedAt = new Date();
      return { type: 'session.archived', data: { sessionId: s.id }, changes: flag('archived', false, true) };
    }),
  unarchiveSession: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    changeSession(ctx, id, 'unarchiveSession', (s) => {
      if (!s.archivedAt) return null;
      s.archivedAt = null;
      return {
        type: 'session.unarchived',
        data: { sessionId: s.id },
        changes: flag('archived', true, false),
      };
    }),
  deleteSession: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    changeSession(
      ctx,
      id,
      'deleteSession',
      (s) => {
        if (s.deletedAt) return null;
        s.deletedAt = new Date();
        return {
          type: 'session.deleted',
          data: { sessionId: s.id, deletedAt: s.deletedAt.toISOString() },
          changes: flag('deleted', false, true),
        };
      },
      { allowDeleted: true },
    ),
  restoreSession: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    changeSession(
      ctx,
      id,
      'restoreSession',
      (s) => {
        if (!s.deletedAt) return null;
        s.deletedAt = null;
        return { type: 'session.restored', data: { sessionId: s.id }, changes: flag('deleted', true, false) };
      },
      { allowDeleted: true },
    ),
};

export const sessionQueries = {
  session: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    ownedOrNull(ctx, SESSION, id, 'session'),
  sessions: (_: unknown, args: SessionListArgs, ctx: DomainContext) =>
    listSessions(ctx.em, requireUser(ctx).userId, args),
};

export const sessionFields = {
  __resolveReference: async (ref: { id: string }, ctx: DomainContext) => {
    const user = requireUser(ctx);
    if (!isUuid(ref.id)) return null;
    return ctx.em.findOne(Session, { id: ref.id, ownerId: user.userId });
  },
  owner: (session: Session) => ({ id: session.ownerId }),
  archived: (session: Session) => session.archivedAt !== null && session.archivedAt !== undefined,
  forkedFrom: (session: Session, _: unknown, ctx: DomainContext) =>
    session.forkedFromSessionId
      ? ctx.em.findOne(Session, { id: session.forkedFromSessionId, ownerId: session.ownerId })
      : null,
  stats: async (session: Session, _: unknown, ctx: DomainContext) => {
    const stats = await ctx.em.findOne(SessionStats, { sessionId: session.id });
    return stats ?? { messageCount: 0, lastActivityAt: null, lastMessagePreview: null };
  },
};
