import type { EntityName, FilterQuery } from '@mikro-orm/postgresql';
import { notFound } from '../errors.ts';
import { requireUser, type DomainContext } from './subgraph-service.ts';

export const isUuid = (id: string) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

/** An entity users own, addressed by id: `type` names it in the audit trail, `label` in errors. */
export interface OwnedKind<T extends { ownerId: string }> {
  entity: EntityName<T>;
  type: string;
  label: string;
}

async function byId<T extends { ownerId: string }>(ctx: DomainContext, kind: OwnedKind<T>, id: string) {
  requireUser(ctx);
  return isUuid(id) ? ctx.em.findOne(kind.entity, { id } as FilterQuery<T>) : null;
}

/**
 * The caller's entity, for a change. Another user's id gets the same NOT_FOUND as an unknown
 * one (no way to probe ids), and the attempt is recorded as denied.
 */
export async function ownedForChange<T extends { ownerId: string }>(
  ctx: DomainContext,
  kind: OwnedKind<T>,
  id: string,
  operation: string,
): Promise<T> {
  const found = await byId(ctx, kind, id);
  if (!found) throw notFound(kind.label);
  if (found.ownerId !== requireUser(ctx).userId) throw await ctx.denied(kind.type, id, operation);
  return found;
}

/** The caller's entity, for a read by id: null when unknown or another user's (recorded as denied). */
export async function ownedOrNull<T extends { ownerId: string }>(
  ctx: DomainContext,
  kind: OwnedKind<T>,
  id: string,
  operation: string,
): Promise<T | null> {
  const found = await byId(ctx, kind, id);
  if (found && found.ownerId !== requireUser(ctx).userId) {
    await ctx.denied(kind.type, id, operation);
    return null;
  }
  return found;
}
