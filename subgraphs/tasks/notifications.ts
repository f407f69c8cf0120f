import { badInput } from '../../platform/errors.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { pageSize } from '../../platform/graphql/pagination.ts';
import { Notification, Task } from './entities.ts';
import { ownedForChange, ownedOrNull } from '../../platform/graphql/owned.ts';

/**
 * Notifications are written by the notifications processor; users read them and mark them
 * read here. A notification's cursor is its per-user position (seq), gapless and in commit order.
 */

export const MARK_ALL_LIMIT = 1000;

export function parsePosition(cursor: string, field = 'after'): number {
  if (!/^\d{1,15}$/.test(cursor)) throw badInput(field, 'Invalid cursor');
  return Number(cursor);
}

const NOTIFICATION = { entity: Notification, type: 'notification', label: 'Notification' };
const ownNotification = (ctx: DomainContext, id: string, operation: string) =>
  ownedForChange(ctx, NOTIFICATION, id, operation);

function markRead(ctx: DomainContext, n: Notification, now: Date) {
  n.readAt = now;
  ctx.emit(
    'notification.read',
    n.id,
    { notificationId: n.id },
    { changes: { read: { before: false, after: true } } },
  );
}

export const notificationResolvers = {
  Query: {
    notification: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
      ownedOrNull(ctx, NOTIFICATION, id, 'notification'),
    notifications: async (
      _: unknown,
      args: { first?: number; after?: string | null; unreadOnly?: boolean | null },
      ctx: DomainContext,
    ) => {
      const size = pageSize(args.first);
      const rows = await ctx.em.find(
        Notification,
        {
          ownerId: requireUser(ctx).userId,
          ...(args.unreadOnly ? { readAt: null } : {}),
          ...(args.after ? { seq: { $lt: parsePosition(args.after) } } : {}),
        },
        { orderBy: { seq: 'desc' }, limit: size + 1 },
      );
      const edges = rows.slice(0, size).map((node) => ({ cursor: String(node.seq), node }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
    notificationsSince: (_: unknown, args: { after: string; first?: number }, ctx: DomainContext) =>
      ctx.em.find(
        Notification,
        { ownerId: requireUser(ctx).userId, seq: { $gt: parsePosition(args.after) } },
        { orderBy: { seq: 'asc' }, limit: pageSize(args.first, 100) },
      ),
  },
  Mutation: {
    markNotificationRead: async (_: unknown, { id }: { id: string }, ctx: DomainContext) => {
      const n = await ownNotification(ctx, id, 'markNotificationRead');
      if (n.readAt) return n;
      markRead(ctx, n, new Date());
      await ctx.commit();
      return n;
    },
    markAllNotificationsRead: async (_: unknown, __: unknown, ctx: DomainContext) => {
      const unread = await ctx.em.find(
        Notification,
        { ownerId: requireUser(ctx).userId, readAt: null },
        { orderBy: { seq: 'asc' }, limit: MARK_ALL_LIMIT },
      );
      const now = new Date();
      for (const n of unread) markRead(ctx, n, now);
      if (unread.length > 0) await ctx.commit();
      return unread.length;
    },
  },
  Notification: {
    cursor: (n: Notification) => String(n.seq),
    read: (n: Notification) => n.readAt !== null && n.readAt !== undefined,
    task: (n: Notification, _: unknown, ctx: DomainContext) =>
      n.taskId ? ctx.em.findOne(Task, { id: n.taskId, ownerId: n.ownerId }) : null,
  },
};
