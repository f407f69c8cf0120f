import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditRecord } from './entities.ts';
import { chainHash, type ChainedFields } from './chain.ts';

export type AuditEntry = ChainedFields & {
  data: Record<string, unknown>;
  changes: Record<string, { before?: unknown; after?: unknown }> | null;
};

interface ChainHead {
  position: bigint;
  hash: string;
}
const heads = new WeakMap<EntityManager, ChainHead>();

/** The chain head, locked for the rest of the transaction so appends never interleave. */
export async function chainHead(em: EntityManager): Promise<ChainHead> {
  const cached = heads.get(em);
  if (cached) return cached;
  const [row] = await em
    .getConnection()
    .execute<{ position: string; hash: string }[]>(
      'select position::text as position, hash from audit.chain_head where id = 1 for update',
      [],
      'all',
      em.getTransactionContext(),
    );
  if (!row) throw new Error('audit.chain_head is missing (migration 0002 not applied)');
  const head = { position: BigInt(row.position), hash: row.hash };
  heads.set(em, head);
  return head;
}

/**
 * Appends one record to the hash chain inside the caller's transaction (the audit writer's
 * batch, or an audit job recording its own action); the caller's flush writes it.
 */
export async function appendToChain(em: EntityManager, entry: AuditEntry): Promise<AuditRecord> {
  const head = await chainHead(em);
  const hash = chainHash(head.hash, entry);
  const position = head.position + 1n;
  const record = em.create(AuditRecord, {
    ...entry,
    position: position.toString(),
    prevHash: head.hash,
    hash,
  });
  await em
    .getConnection()
    .execute(
      'update audit.chain_head set position = ?, hash = ? where id = 1',
      [position.toString(), hash],
      'all',
      em.getTransactionContext(),
    );
  head.position = position;
  head.hash = hash;
  return record;
}
