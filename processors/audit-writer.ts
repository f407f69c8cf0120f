import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../platform/events/envelope.ts';
import { eventContracts, eventTypes, type AuditSpec } from '../schema/events/contracts.ts';
import { redact } from '../schema/events/redaction.ts';
import { appendToChain, type AuditEntry } from '../subgraphs/audit/chain-writer.ts';

/** Every event type whose contract declares how it is audited (derived projections are not actions). */
export const auditedTypes = eventTypes.filter((type) => eventContracts[type].audit !== false);
export const auditedTopics = [...new Set(auditedTypes.map((type) => eventContracts[type].topic))];

export function auditEntryOf(event: EventEnvelope): AuditEntry {
  const spec: AuditSpec = eventContracts[event.type].audit;
  if (spec === false) throw new Error(`${event.type} is not audited`);
  const data = event.data as Record<string, unknown>;
  return {
    id: randomUUID(),
    eventId: event.id,
    occurredAt: new Date(event.time),
    actorId: event.userId,
    action: event.type,
    entityType: typeof spec.entityType === 'function' ? spec.entityType(data) : spec.entityType,
    entityId: event.subject,
    outcome: spec.outcome ?? 'success',
    data: redact(data) as Record<string, unknown>,
    actorKind: event.actor?.via ?? 'system',
    apiKeyId: event.actor?.apiKeyId ?? null,
    ip: event.actor?.ip ?? null,
    userAgent: event.actor?.userAgent ?? null,
    requestId: event.requestId ?? null,
    traceId: event.traceId ?? null,
    changes: event.changes ? (redact(event.changes) as AuditEntry['changes']) : null,
  };
}

/** The audit writer's handler: one chained record per event, in the consumer's transaction. */
export async function appendAuditRecord(event: EventEnvelope, em: EntityManager): Promise<void> {
  await appendToChain(em, auditEntryOf(event));
}
