import { defineEntity, p } from '@mikro-orm/postgresql';

export type AttachmentStatus = 'pending' | 'ready' | 'archived';

export const AttachmentSchema = defineEntity({
  name: 'Attachment',
  tableName: 'attachments',
  properties: {
    id: p.uuid().primary(),
    sessionId: p.uuid(),
    messageId: p.uuid(),
    ownerId: p.string(),
    objectKey: p.string(),
    filename: p.string(),
    contentType: p.string(),
    sizeBytes: p.integer(),
    sha256: p.string(),
    status: p.string().$type<AttachmentStatus>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    confirmedAt: p.datetime().nullable(),
  },
});
export class Attachment extends AttachmentSchema.class {}
AttachmentSchema.setClass(Attachment);

export const ExportRecordSchema = defineEntity({
  name: 'ExportRecord',
  tableName: 'exports',
  properties: {
    id: p.uuid().primary(),
    ownerId: p.string(),
    objectKey: p.string(),
    format: p.string().$type<'JSON' | 'MARKDOWN'>(),
    sessionId: p.uuid().nullable(),
    sessionCount: p.integer(),
    messageCount: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class ExportRecord extends ExportRecordSchema.class {}
ExportRecordSchema.setClass(ExportRecord);

/** Entities of the storage features, registered with the sessions subgraph's database. */
export const storageEntities = [Attachment, ExportRecord];
