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
    position: p.bigint('string').nullable(),
    prevHash: p.string().nullable(),
    hash: p.string().nullable(),
  },
});
export class AuditRecord extends AuditRecordSchema.class {}
AuditRecordSchema.setClass(AuditRecord);

export const auditEntities = [AuditRecord, OutboxEvent, ProcessedEvent];
