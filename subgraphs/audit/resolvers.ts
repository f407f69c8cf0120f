import { randomUUID } from 'node:crypto';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { raw, type EntityManager } from '@mikro-orm/postgresql';
import { GraphQLScalarType } from 'graphql';
import {
  requireAdminAudited,
  requireUser,
  type DomainContext,
} from '../../platform/graphql/subgraph-service.ts';
import { decodeCursor, pageSize, toPage } from '../../platform/graphql/pagination.ts';
import { DateTime } from '../../platform/graphql/scalars.ts';
import { badInput, notFound } from '../../platform/errors.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { AuditRecord, LegalHold } from './entities.ts';
import { DIGEST_COLUMNS, signPeriodicDigest, statementOf, type DigestRow } from './digests.ts';
import type { Verification } from './chain.ts';
import { purgeBefore } from './purge.ts';
import { verifyRange } from './verify.ts';
import { exportRecords, type ExportFormat } from './export.ts';
import type { AuditSigner } from './signing.ts';

const JSONScalar = new GraphQLScalarType({ name: 'JSON', serialize: (v) => v });
const DAY_MS = 24 * 60 * 60 * 1000;
export const AUDIT_LIMITS = { holdReason: 1000, text: { min: 2, max: 200 } };

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

/** AuditRecordFilter as GraphQL delivers it: an explicit null means "no filter on that field". */
type FilterInput = { [K in keyof AuditFilter]?: AuditFilter[K] | null } | null | undefined;

function filterOf(input: FilterInput): AuditFilter {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== null && v !== undefined));
}

/** The record filter as a MikroORM query (no cursor); build it afresh for every query. */
function whereOf(filter: AuditFilter) {
  if (filter.action !== undefined && !/^[a-z.*-]{1,100}$/.test(filter.action))
    throw badInput('action', 'Invalid action filter');
  const { min, max } = AUDIT_LIMITS.text;
  if (filter.text !== undefined && (filter.text.length < min || filter.text.length > max))
    throw badInput('text', `text must be ${min} to ${max} characters`);
  if (filter.from && filter.to && filter.to < filter.from) throw badInput('to', 'to must not be before from');
  const action = filter.action?.endsWith('*') ? { $like: `${filter.action.slice(0, -1)}%` } : filter.action;
  const text = filter.text;
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
    // A fresh raw fragment per call: MikroORM recognises a raw key only once.
    // With an actor or entity id the btree index already narrows to a few hundred rows, and
    // checking the text on those beats intersecting them with a GIN scan of a common word
    // (17 ms → 4 ms on 1M records); `|| ''::tsvector` keeps the planner off the GIN index.
    ...(text
      ? {
          [raw(
            (alias: string) =>
              `${filter.actorId || filter.entityId ? `(${alias}.search || ''::tsvector)` : `${alias}.search`} @@ websearch_to_tsquery('simple', ?)`,
            [text],
          )]: [],
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
  return { ...toPage(rows, size, (r) => r.occurredAt), filter };
}

const digestNode = (row: DigestRow) => {
  const digest = {
    ...row,
    fromTime: new Date(row.fromTime),
    toTime: new Date(row.toTime),
    createdAt: new Date(row.createdAt),
  };
  return { ...digest, statement: statementOf(digest) };
};

function validHold(input: {
  actorId?: string | null;
  entityType?: string | null;
  entityId?: string | null;
  reason: string;
}) {
  if (!input.actorId && !input.entityType && !input.entityId)
    throw badInput('input', 'A legal hold needs at least one of actorId, entityType, entityId');
  const reason = input.reason.trim();
  if (reason.length < 1 || reason.length > AUDIT_LIMITS.holdReason)
    throw badInput('reason', `reason must be 1 to ${AUDIT_LIMITS.holdReason} characters`);
  return { ...input, reason };
}

export interface AuditResolverDeps {
  signer: AuditSigner;
  objects: ObjectStore;
  retentionDays: number;
}

export function createAuditResolvers(deps: AuditResolverDeps): GraphQLResolverMap<DomainContext> {
  const { signer } = deps;
  return {
    DateTime,
    JSON: JSONScalar,
    Query: {
      verifyAuditTrail: async (_: unknown, args: { from: Date; to: Date }, ctx: DomainContext) => {
        await requireAdminAudited(ctx, 'verifyAuditTrail');
        if (args.to < args.from) throw badInput('to', 'to must not be before from');
        return verifyRange(ctx.em, signer, args.from, args.to);
      },
      auditRecords: async (
        _: unknown,
        args: { first?: number; after?: string; filter?: FilterInput },
        ctx: DomainContext,
      ) => {
        await requireAdminAudited(ctx, 'auditRecords');
        return search(ctx.em, filterOf(args.filter), args.first, args.after);
      },
      auditSigningKey: (_: unknown, __: unknown, ctx: DomainContext) => {
        requireUser(ctx);
        return { keyId: signer.keyId, algorithm: signer.algorithm, publicKeyPem: signer.publicKeyPem };
      },
      auditDigests: async (_: unknown, args: { first?: number; after?: string }, ctx: DomainContext) => {
        await requireAdminAudited(ctx, 'auditDigests');
        const size = pageSize(args.first, 50);
        const cursor = decodeCursor(args.after);
        const rows = await ctx.em.getConnection().execute<DigestRow[]>(
          `select ${DIGEST_COLUMNS} from audit.digests
           ${cursor ? 'where (created_at, id) < (?, ?)' : ''} order by created_at desc, id desc limit ?`,
          cursor ? [cursor.time, cursor.id, size + 1] : [size + 1],
        );
        return toPage(rows.map(digestNode), size, (node) => node.createdAt);
      },
      legalHolds: async (_: unknown, __: unknown, ctx: DomainContext) => {
        await requireAdminAudited(ctx, 'legalHolds');
        return ctx.em.find(LegalHold, {}, { orderBy: { placedAt: 'desc' }, limit: 1000 });
      },
    },
    Mutation: {
      signAuditDigest: async (_: unknown, __: unknown, ctx: DomainContext) => {
        await requireAdminAudited(ctx, 'signAuditDigest');
        const row = await ctx.em.transactional((em) => signPeriodicDigest(em, signer));
        return row ? digestNode(row) : null;
      },
      placeLegalHold: async (
        _: unknown,
        { input }: { input: { actorId?: string; entityType?: string; entityId?: string; reason: string } },
        ctx: DomainContext,
      ) => {
        const admin = await requireAdminAudited(ctx, 'placeLegalHold');
        const valid = validHold(input);
        const hold = ctx.em.create(LegalHold, {
          id: randomUUID(),
          actorId: valid.actorId ?? null,
          entityType: valid.entityType ?? null,
          entityId: valid.entityId ?? null,
          reason: valid.reason,
          placedBy: admin.userId,
          placedAt: new Date(),
        });
        ctx.emit('audit.legal-hold-placed', hold.id, {
          holdId: hold.id,
          actorId: hold.actorId ?? null,
          entityType: hold.entityType ?? null,
          entityId: hold.entityId ?? null,
          reason: hold.reason,
        });
        await ctx.commit();
        return hold;
      },
      releaseLegalHold: async (_: unknown, { id }: { id: string }, ctx: DomainContext) => {
        const admin = await requireAdminAudited(ctx, 'releaseLegalHold');
        const hold = /^[0-9a-f-]{36}$/i.test(id) ? await ctx.em.findOne(LegalHold, { id }) : null;
        if (!hold) throw notFound('LegalHold');
        if (hold.releasedAt) return hold;
        hold.releasedAt = new Date();
        hold.releasedBy = admin.userId;
        ctx.emit(
          'audit.legal-hold-released',
          hold.id,
          { holdId: hold.id },
          {
            changes: { releasedAt: { before: null, after: hold.releasedAt.toISOString() } },
          },
        );
        await ctx.commit();
        return hold;
      },
      purgeAuditRecords: async (_: unknown, args: { before?: Date | null }, ctx: DomainContext) => {
        const admin = await requireAdminAudited(ctx, 'purgeAuditRecords');
        const before = args.before ?? new Date(Date.now() - deps.retentionDays * DAY_MS);
        if (before > new Date()) throw badInput('before', 'before must not be in the future');
        return ctx.em.transactional((em) =>
          purgeBefore(em, signer, { before, actorId: admin.userId, always: true }),
        );
      },
      exportAuditRecords: async (
        _: unknown,
        args: { format: ExportFormat; filter?: FilterInput },
        ctx: DomainContext,
      ) => {
        await requireAdminAudited(ctx, 'exportAuditRecords');
        const { format } = args;
        const filter = filterOf(args.filter);
        whereOf(filter); // validates before anything is uploaded
        const result = await exportRecords({
          fork: () => ctx.em.fork(),
          objects: deps.objects,
          signer,
          where: () => whereOf(filter),
          format,
        });
        const { statement } = result;
        ctx.emit('audit.exported', statement.exportId, {
          exportId: statement.exportId,
          format,
          recordCount: statement.recordCount,
          sha256: statement.sha256,
          filter: JSON.parse(JSON.stringify(filter)) as Record<string, unknown>,
        });
        await ctx.commit();
        return {
          url: result.url,
          expiresAt: result.expiresAt,
          recordCount: statement.recordCount,
          sha256: statement.sha256,
          statement,
          signature: result.signature,
        };
      },
    },
    AuditRecordConnection: {
      // Counted only when asked for: the count scans every matching record.
      totalCount: (connection: { filter: AuditFilter }, _: unknown, ctx: DomainContext) =>
        ctx.em.count(AuditRecord, whereOf(connection.filter)),
    },
    AuditRecord: {
      actor: (r: AuditRecord) => ({
        id: r.actorId,
        kind: r.actorKind,
        apiKeyId: r.apiKeyId,
        ip: r.ip,
        userAgent: r.userAgent,
      }),
    },
    AuditVerification: {
      firstBrokenRecordId: (v: Verification) => (v.intact ? null : v.firstBrokenRecordId),
      firstBrokenPosition: (v: Verification) => (v.intact ? null : v.firstBrokenPosition),
      brokenDigestId: (v: Verification) => (v.intact ? null : v.brokenDigestId),
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
}
