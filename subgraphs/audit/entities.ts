import { defineEntity, p } from '@mikro-orm/postgresql';
import { ProcessedEvent } from '../../platform/events/consumer.ts';
import { OutboxEvent } from '../../platform/events/outbox.ts';

export const AuditRecordSchema = defineEntity({
  name: 'AuditRecord',
  tableName: 'records',
  properties: {
    id: p.uuid().primary(),
    eventId: p.uuid().unique(),
    occurredAt: p.datetime(),
    actorId: p.string(),
    action: p.string(),
    entityType: p.string(),
    entityId: p.string(),
    outcome: p.string(),
    data: p.json<Record<string, unknown>>(),
    actorKind: p.string().default('system'),
    apiKeyId: p.string().nullable(),
    ip: p.string().nullable(),
    userAgent: p.string().nullable(),
    requestId: p.string().nullable(),
    traceId: p.string().nullable(),
    changes: p.json<Record<string, { before?: unknown; after?: unknown }>>().nullable(),
    position: p.bigint('string').nullable(),
    prevHash: p.string().nullable(),
    hash: p.string().nullable(),
  },
});
export class AuditRecord extends AuditRecordSchema.class {}
AuditRecordSchema.setClass(AuditRecord);

/** Exempts records from retention purges while active; every non-null matcher must match. */
export const LegalHoldSchema = defineEntity({
  name: 'LegalHold',
  tableName: 'legal_holds',
  properties: {
    id: p.uuid().primary(),
    actorId: p.string().nullable(),
    entityType: p.string().nullable(),
    entityId: p.string().nullable(),
    reason: p.text(),
    placedBy: p.string(),
    placedAt: p.datetime(),
    releasedBy: p.string().nullable(),
    releasedAt: p.datetime().nullable(),
  },
});
export class LegalHold extends LegalHoldSchema.class {}
LegalHoldSchema.setClass(LegalHold);

export const auditEntities = [AuditRecord, LegalHold, OutboxEvent, ProcessedEvent];
