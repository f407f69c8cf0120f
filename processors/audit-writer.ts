import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../platform/events/envelope.ts';
import { AuditRecord } from '../subgraphs/audit/entities.ts';
import { chainHash } from '../subgraphs/audit/chain.ts';

/** Every user-caused domain event becomes one audit record (derived projections are not user actions). */
export const auditedTypes = [
  'session.created',
  'session.renamed',
  'message.added',
  'task.created',
  'task.completed',
] as const;

interface ChainHead {
  position: bigint;
  hash: string;
}
const heads = new WeakMap<EntityManager, ChainHead>();

/** The chain head, locked for the rest of the transaction so appends never interleave. */
async function chainHead(em: EntityManager): Promise<ChainHead> {
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

export async function appendAuditRecord(event: EventEnvelope, em: EntityManager): Promise<void> {
  const [entityType] = event.type.split('.');
  const fields = {
    id: randomUUID(),
    eventId: event.id,
    occurredAt: new Date(event.time),
    actorId: event.userId,
    action: event.type,
    entityType: entityType ?? 'unknown',
    entityId: event.subject,
    outcome: 'success',
    data: event.data as Record<string, unknown>,
  };
  const head = await chainHead(em);
  const hash = chainHash(head.hash, fields);
  const position = head.position + 1n;
  em.create(AuditRecord, { ...fields, position: position.toString(), prevHash: head.hash, hash });
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
}
