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

async function search(
  em: EntityManager,
  filter: { actorId?: string; action?: string },
  first?: number,
  after?: string,
) {
  const size = pageSize(first, 50);
  const cursor = decodeCursor(after);
  if (filter.action !== undefined && !/^[a-z.*-]{1,100}$/.test(filter.action))
    throw badInput('action', 'Invalid action filter');
  const action = filter.action?.endsWith('*') ? { $like: `${filter.action.slice(0, -1)}%` } : filter.action;
  const rows = await em.find(
    AuditRecord,
    {
      ...(filter.actorId ? { actorId: filter.actorId } : {}),
      ...(action ? { action } : {}),
      ...(cursor
        ? { $or: [{ occurredAt: { $lt: cursor.time } }, { occurredAt: cursor.time, id: { $lt: cursor.id } }] }
        : {}),
    },
    { orderBy: { occurredAt: 'desc', id: 'desc' }, limit: size + 1 },
  );
  return toPage(rows, size, (r) => r.occurredAt);
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
      args: { first?: number; after?: string; action?: string; actorId?: string },
      ctx: DomainContext,
    ) => {
      requireAdmin(ctx);
      return search(ctx.em, args, args.first, args.after);
    },
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
