import { createHash, randomUUID } from 'node:crypto';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, ErrorCode, badInput, notFound } from '../../platform/errors.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { recordEvent } from '../../platform/events/outbox.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import type { EventData } from '../../schema/events/contracts.ts';
import { MESSAGE, Message } from './entities.ts';
import { Attachment } from './storage-entities.ts';
import type { StorageLimits } from './storage-limits.ts';
import { ownedForChange } from '../../platform/graphql/owned.ts';

export const MAX_ATTACHMENTS_PER_MESSAGE = 20;
const FILENAME_MAX = 255;

export type RemovalReason = EventData<'attachment.removed'>['reason'];
export type Emit = DomainContext['emit'];

const objectKeyOf = (sessionId: string, attachmentId: string) => `attachments/${sessionId}/${attachmentId}`;

export function validUpload(
  input: { filename: string; contentType: string; size: number; sha256: string },
  limits: Pick<StorageLimits, 'attachmentMaxBytes' | 'attachmentContentTypes'>,
) {
  const filename = input.filename.trim();
  if (filename === '' || filename.length > FILENAME_MAX)
    throw badInput('filename', `Filename must have 1 to ${FILENAME_MAX} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f/\\]/.test(filename))
    throw badInput('filename', 'Filename must not contain control characters or slashes');
  const contentType = input.contentType.trim().toLowerCase();
  const baseType = contentType.split(';')[0]!.trim();
  if (!limits.attachmentContentTypes.includes(baseType))
    throw badInput('contentType', `Content type ${baseType || '(empty)'} is not allowed`);
  if (!Number.isInteger(input.size) || input.size < 1) throw badInput('size', 'Size must be at least 1 byte');
  if (input.size > limits.attachmentMaxBytes)
    throw new AppError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `Attachments are limited to ${limits.attachmentMaxBytes} bytes`,
      { field: 'size', limit: limits.attachmentMaxBytes },
    );
  const sha256 = input.sha256.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw badInput('sha256', 'sha256 must be 64 hexadecimal characters');
  return { filename, contentType, size: input.size, sha256 };
}

/** Streams the object through SHA-256, so a 25 MiB upload is never held in memory. */
export async function sha256Of(objects: ObjectStore, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await objects.getStream(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const uploadRejected = (reason: 'NOT_UPLOADED' | 'SIZE_MISMATCH' | 'CHECKSUM_MISMATCH', message: string) =>
  new AppError(ErrorCode.CONFLICT, message, { reason });

/** An attachment of the caller's; a foreign one is audited and reads as not found. */
const ownAttachment = (ctx: DomainContext, id: string, operation: string) =>
  ownedForChange(ctx, { entity: Attachment, type: 'attachment', label: 'Attachment' }, id, operation);

function removedEvent(em: EntityManager, attachment: Attachment, reason: RemovalReason, emit?: Emit) {
  const data = {
    attachmentId: attachment.id,
    sessionId: attachment.sessionId,
    messageId: attachment.messageId,
    reason,
  };
  if (emit) emit('attachment.removed', attachment.id, data, { userId: attachment.ownerId });
  else
    recordEvent(
      em,
      newEvent({
        type: 'attachment.removed',
        source: 'sessions',
        subject: attachment.id,
        userId: attachment.ownerId,
        data,
        actor: { via: 'system' },
      }),
    );
}

/**
 * Removes the objects of the given attachments, then their rows (in `em`'s unit of work, with an
 * `attachment.removed` event each; the caller flushes). Objects go first: a row left behind by a
 * failed flush points at nothing and is removed again later, while the reverse order would leak
 * objects no row knows about.
 */
async function removeAll(
  em: EntityManager,
  objects: ObjectStore,
  attachments: Attachment[],
  reason: RemovalReason,
  emit?: Emit,
): Promise<number> {
  for (const attachment of attachments) {
    await objects.remove(attachment.objectKey);
    removedEvent(em, attachment, reason, emit);
    em.remove(attachment);
  }
  return attachments.length;
}

/**
 * For the session purge: removes every attachment of a session (objects and rows) in `em`'s unit
 * of work; flush it in the transaction that deletes the session. Pass ctx.emit to stamp the
 * events with the caller. Archived attachments stay with their retention archive.
 */
export async function removeSessionAttachments(
  em: EntityManager,
  objects: ObjectStore,
  sessionId: string,
  emit?: Emit,
): Promise<number> {
  const attachments = await em.find(Attachment, { sessionId, status: { $ne: 'archived' } });
  return removeAll(em, objects, attachments, 'session-removed', emit);
}

/** The same for one message (when the message is deleted). */
export async function removeMessageAttachments(
  em: EntityManager,
  objects: ObjectStore,
  messageId: string,
  emit?: Emit,
): Promise<number> {
  const attachments = await em.find(Attachment, { messageId, status: { $ne: 'archived' } });
  return removeAll(em, objects, attachments, 'message-removed', emit);
}

/**
 * The periodic sweep: uploads never confirmed within the allowed age, and attachments whose
 * message no longer exists (deleted without removeMessageAttachments), lose their object and row.
 */
export async function cleanupAttachments(
  em: EntityManager,
  objects: ObjectStore,
  limits: Pick<StorageLimits, 'pendingUploadMaxAgeSeconds'>,
  now = new Date(),
): Promise<{ expired: number; orphaned: number }> {
  const before = new Date(now.getTime() - limits.pendingUploadMaxAgeSeconds * 1000);
  const stale = await em.find(
    Attachment,
    { status: 'pending', createdAt: { $lt: before } },
    { orderBy: { createdAt: 'asc' }, limit: 500 },
  );
  const expired = await removeAll(em, objects, stale, 'expired');
  await em.flush();
  const orphanRows = await em.execute<{ id: string }[]>(
    `select a.id from sessions.attachments a
     where a.status <> 'archived'
       and not exists (select 1 from sessions.messages m where m.id = a.message_id)
     limit 500`,
  );
  const orphans = orphanRows.length
    ? await em.find(Attachment, { id: { $in: orphanRows.map((r) => r.id) } })
    : [];
  const orphaned = await removeAll(em, objects, orphans, 'orphaned');
  await em.flush();
  return { expired, orphaned };
}

const loaders = new WeakMap<DomainContext, { load(messageId: string): Promise<Attachment[]> }>();

/**
 * `Message.attachments` of a whole page in one query: ids asked for in the same tick (GraphQL
 * resolves a list's items together) are loaded at once, per request and caller.
 */
function attachmentsLoader(ctx: DomainContext) {
  const existing = loaders.get(ctx);
  if (existing) return existing;
  let pending: Map<string, ((rows: Attachment[]) => void)[]> | undefined;
  let failures: ((error: unknown) => void)[] = [];
  const flush = async (batch: Map<string, ((rows: Attachment[]) => void)[]>, fail: typeof failures) => {
    try {
      const rows = await ctx.em.find(
        Attachment,
        { messageId: { $in: [...batch.keys()] }, ownerId: requireUser(ctx).userId },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
      for (const [id, resolves] of batch) resolves.forEach((r) => r(rows.filter((a) => a.messageId === id)));
    } catch (error) {
      fail.forEach((f) => f(error));
    }
  };
  const loader = {
    load(messageId: string) {
      return new Promise<Attachment[]>((resolve, reject) => {
        if (!pending) {
          const batch = (pending = new Map<string, ((rows: Attachment[]) => void)[]>());
          const fail = (failures = []);
          setImmediate(() => {
            pending = undefined;
            void flush(batch, fail);
          });
        }
        pending.set(messageId, [...(pending.get(messageId) ?? []), resolve]);
        failures.push(reject);
      });
    },
  };
  loaders.set(ctx, loader);
  return loader;
}

export function attachmentResolvers(deps: {
  objects: ObjectStore;
  limits: StorageLimits;
}): GraphQLResolverMap<DomainContext> {
  const { objects, limits } = deps;
  return {
    Query: {
      attachment: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
        ownAttachment(ctx, id, 'attachment'),
    },
    Mutation: {
      requestAttachmentUpload: async (
        _: unknown,
        {
          input,
        }: {
          input: { messageId: string; filename: string; contentType: string; size: number; sha256: string };
        },
        ctx: DomainContext,
      ) => {
        const user = requireUser(ctx);
        const upload = validUpload(input, limits);
        const message = await ownedForChange(ctx, MESSAGE, input.messageId, 'requestAttachmentUpload');
        // A message of a soft-deleted session (a `deleted_at` column, when the table has one) takes no uploads.
        const [live] = await ctx.em.execute<{ id: string }[]>(
          `select id from sessions.sessions s where id = ? and to_jsonb(s) ->> 'deleted_at' is null`,
          [message.sessionId],
        );
        if (!live) throw notFound('Message');
        const count = await ctx.em.count(Attachment, { messageId: message.id });
        if (count >= MAX_ATTACHMENTS_PER_MESSAGE)
          throw badInput('messageId', `A message has at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments`);
        const id = randomUUID();
        const attachment = ctx.em.create(Attachment, {
          id,
          sessionId: message.sessionId,
          messageId: message.id,
          ownerId: user.userId,
          objectKey: objectKeyOf(message.sessionId, id),
          filename: upload.filename,
          contentType: upload.contentType,
          sizeBytes: upload.size,
          sha256: upload.sha256,
          status: 'pending',
          createdAt: new Date(),
          confirmedAt: null,
        });
        // Reserving an upload is an action of its own: the audit trail shows who asked to upload what.
        ctx.emit('attachment.requested', attachment.id, {
          attachmentId: attachment.id,
          sessionId: attachment.sessionId,
          messageId: attachment.messageId,
          contentType: attachment.contentType,
          size: attachment.sizeBytes,
        });
        await ctx.commit();
        return {
          attachment,
          uploadUrl: await objects.presignedPut(attachment.objectKey, limits.uploadUrlTtlSeconds),
          uploadForm: await objects.presignedPostForm(attachment.objectKey, limits.uploadUrlTtlSeconds, {
            contentType: upload.contentType,
            size: upload.size,
          }),
          expiresAt: new Date(Date.now() + limits.uploadUrlTtlSeconds * 1000),
        };
      },
      confirmAttachmentUpload: async (_: unknown, { id }: { id: string }, ctx: DomainContext) => {
        const attachment = await ownAttachment(ctx, id, 'confirmAttachmentUpload');
        if (attachment.status === 'ready') return attachment;
        if (attachment.status === 'archived')
          throw new AppError(ErrorCode.CONFLICT, 'The attachment was archived', { reason: 'ARCHIVED' });
        const stored = await objects.head(attachment.objectKey);
        if (!stored) throw uploadRejected('NOT_UPLOADED', 'Nothing was uploaded for this attachment yet');
        // A rejected object is deleted at once; the client may upload again to a fresh reservation.
        if (stored.size !== attachment.sizeBytes) {
          await objects.remove(attachment.objectKey);
          if (stored.size > limits.attachmentMaxBytes)
            throw new AppError(
              ErrorCode.PAYLOAD_TOO_LARGE,
              `Attachments are limited to ${limits.attachmentMaxBytes} bytes`,
              { limit: limits.attachmentMaxBytes },
            );
          throw uploadRejected(
            'SIZE_MISMATCH',
            `The uploaded object has ${stored.size} bytes, ${attachment.sizeBytes} were declared`,
          );
        }
        if ((await sha256Of(objects, attachment.objectKey)) !== attachment.sha256) {
          await objects.remove(attachment.objectKey);
          throw uploadRejected(
            'CHECKSUM_MISMATCH',
            'The uploaded object does not match the declared SHA-256',
          );
        }
        // Two confirmations racing: only the one that flips the row from pending announces it.
        await ctx.em.begin();
        try {
          const flipped = await ctx.em.execute<{ confirmed_at: Date }[]>(
            `update sessions.attachments set status = 'ready', confirmed_at = now()
             where id = ? and status = 'pending' returning confirmed_at`,
            [attachment.id],
          );
          if (flipped[0])
            ctx.emit('attachment.ready', attachment.id, {
              attachmentId: attachment.id,
              sessionId: attachment.sessionId,
              messageId: attachment.messageId,
              contentType: attachment.contentType,
              size: attachment.sizeBytes,
              sha256: attachment.sha256,
            });
          await ctx.em.commit();
        } catch (error) {
          await ctx.em.rollback();
          throw error;
        }
        await ctx.commit();
        await ctx.em.refresh(attachment);
        return attachment;
      },
      removeAttachment: async (_: unknown, { id }: { id: string }, ctx: DomainContext) => {
        const attachment = await ownAttachment(ctx, id, 'removeAttachment');
        if (attachment.status === 'archived')
          throw new AppError(ErrorCode.CONFLICT, 'The attachment was archived', { reason: 'ARCHIVED' });
        await removeAll(ctx.em, objects, [attachment], 'removed', (...args) => ctx.emit(...args));
        await ctx.commit();
        return id;
      },
    },
    Attachment: {
      status: (a: Attachment) => a.status.toUpperCase(),
      size: (a: Attachment) => a.sizeBytes,
      message: (a: Attachment, _: unknown, ctx: DomainContext) =>
        ctx.em.findOne(Message, { id: a.messageId, ownerId: requireUser(ctx).userId }),
      downloadUrl: (a: Attachment) =>
        a.status === 'ready'
          ? objects.presignedDownload(a.objectKey, limits.downloadUrlTtlSeconds, {
              contentType: a.contentType,
              filename: a.filename,
            })
          : null,
    },
    Message: {
      attachments: (message: Message, _: unknown, ctx: DomainContext) =>
        attachmentsLoader(ctx).load(message.id),
    },
  };
}
