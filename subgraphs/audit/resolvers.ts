import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { EntityManager } from '@mikro-orm/postgresql';
import { GraphQLScalarType } from 'graphql';
import { requireAdmin, requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { decodeCursor, pageSize, toPage } from '../../platform/graphql/pagination.ts';
import { DateTime } from '../../platform/graphql/scalars.ts';
import { badInput } from '../../platform/errors.ts';
import { AuditRecord } from './entities.ts';
import { verifyChain, type Verification } from './chain.ts';

const JSONScalar = new GraphQLScalarType({ name: 'JSON', serialize: (v) => v });

export interface AuditFilter {
  actorId?: string;
  action?: string;
  entityType?: string;
  entityId?: string;
  outcome?: string;
  from?: Date;
  to?: Date;
  text?: string;
}

/** The record filter as a MikroORM query (no cursor), shared by the page and its total count. */
function whereOf(filter: AuditFilter) {
  if (filter.action !== undefined && !/^[a-z.*-]{1,100}$/.test(filter.action))
    throw badInput('action', 'Invalid action filter');
  if (filter.text !== undefined && (filter.text.length < 2 || filter.text.length > 200))
    throw badInput('text', 'text must be 2 to 200 characters');
  if (filter.from && filter.to && filter.to < filter.from) throw badInput('to', 'to must not be before from');
  const action = filter.action?.endsWith('*') ? { $like: `${filter.action.slice(0, -1)}%` } : filter.action;
  const escaped = filter.text?.replace(/[\\%_]/g, (c) => `\\${c}`);
  return {
    ...(filter.actorId ? { actorId: filter.actorId } : {}),
    ...(action ? { action } : {}),
    ...(filter.entityType ? { entityType: filter.entityType } : {}),
    ...(filter.entityId ? { entityId: filter.entityId } : {}),
    ...(filter.outcome ? { outcome: filter.outcome } : {}),
    ...(filter.from || filter.to
      ? {
          occurredAt: {
            ...(filter.from ? { $gte: filter.from } : {}),
            ...(filter.to ? { $lte: filter.to } : {}),
          },
        }
      : {}),
    ...(escaped
      ? {
          $or: [
            { action: { $ilike: `%${escaped}%` } },
            { entityId: { $ilike: `%${escaped}%` } },
            { actorId: { $ilike: `%${escaped}%` } },
          ],
        }
      : {}),
  };
}

async function search(em: EntityManager, filter: AuditFilter, first?: number, after?: string) {
  const size = pageSize(first, 50);
  const cursor = decodeCursor(after);
  const where = whereOf(filter);
  const rows = await em.find(
    AuditRecord,
    cursor
      ? {
          $and: [
            where,
            {
              $or: [
                { occurredAt: { $lt: cursor.time } },
                { occurredAt: cursor.time, id: { $lt: cursor.id } },
              ],
            },
          ],
        }
      : where,
    { orderBy: { occurredAt: 'desc', id: 'desc' }, limit: size + 1 },
  );
  return { ...toPage(rows, size, (r) => r.occurredAt), where };
}

export const auditResolvers: GraphQLResolverMap<DomainContext> = {
  DateTime,
  JSON: JSONScalar,
  Query: {
    verifyAuditTrail: async (_: unknown, args: { from: Date; to: Date }, ctx: DomainContext) => {
      requireAdmin(ctx);
      if (args.to < args.from) throw badInput('to', 'to must not be before from');
      const rows = await ctx.em.find(
        AuditRecord,
        { occurredAt: { $gte: args.from, $lte: args.to }, position: { $ne: null } },
        { orderBy: { position: 'asc' } },
      );
      return verifyChain(
        rows.map((r) => ({ ...r, position: r.position!, prevHash: r.prevHash!, hash: r.hash! })),
      );
    },
    auditRecords: (
      _: unknown,
      args: AuditFilter & { first?: number; after?: string },
      ctx: DomainContext,
    ) => {
      requireAdmin(ctx);
      const { first, after, ...filter } = args;
      return search(ctx.em, filter, first, after);
    },
  },
  AuditRecordConnection: {
    // Counted only when asked for: the count scans every matching record.
    totalCount: (connection: { where: ReturnType<typeof whereOf> }, _: unknown, ctx: DomainContext) =>
      ctx.em.count(AuditRecord, connection.where),
  },
  AuditVerification: {
    firstBrokenRecordId: (v: Verification) => (v.intact ? null : v.firstBrokenRecordId),
    reason: (v: Verification) => (v.intact ? null : v.reason),
  },
  User: {
    __resolveReference: (ref: { id: string }) => ref,
    activity: (user: { id: string }, args: { first?: number; after?: string }, ctx: DomainContext) =>
      requireUser(ctx).userId === user.id
        ? search(ctx.em, { actorId: user.id }, args.first, args.after)
        : { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
  },
};
