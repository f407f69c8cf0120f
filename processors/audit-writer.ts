import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../platform/events/envelope.ts';
import { AuditRecord } from '../subgraphs/audit/entities.ts';

/** Every user-caused domain event becomes one audit record (derived projections are not user actions). */
export const auditedTypes = [
  'session.created',
  'session.renamed',
  'message.added',
  'task.created',
  'task.completed',
] as const;

export async function appendAuditRecord(event: EventEnvelope, em: EntityManager): Promise<void> {
  const [entityType] = event.type.split('.');
  em.create(AuditRecord, {
    id: randomUUID(),
    eventId: event.id,
    occurredAt: new Date(event.time),
    actorId: event.userId,
    action: event.type,
    entityType: entityType ?? 'unknown',
    entityId: event.subject,
    outcome: 'success',
    data: event.data,
  });
  await Promise.resolve();
}
