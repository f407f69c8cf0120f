import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, ErrorCode, notFound } from '../../platform/errors.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { SESSION } from './entities.ts';
import {
  EXPORT_FORMAT,
  EXPORT_MAX_BYTES,
  EXPORT_VERSION,
  IMPORT_MAX_MESSAGES,
  type ExportDocument,
  type Row,
} from './export-document.ts';
import { ExportRecord } from './storage-entities.ts';
import type { StorageLimits } from './storage-limits.ts';
import { ownedForChange } from '../../platform/graphql/owned.ts';

export type ExportFormat = 'JSON' | 'MARKDOWN';

/** Export objects live under a prefix derived from the owner, so import-by-URL can check whose it is. */
export const exportPrefixOf = (ownerId: string) =>
  `exports/${createHash('sha256').update(ownerId).digest('hex').slice(0, 32)}/`;

/**
 * Whole rows (`to_jsonb`), so columns the sessions core adds are exported without changes here.
 * The object key of an attachment is internal and left out.
 */
export async function collectSessions(
  em: EntityManager,
  ownerId: string,
  sessionId: string | null,
): Promise<ExportDocument> {
  // Soft-deleted sessions (a `deleted_at` column, when the table has one) are not exported.
  const filter = `and to_jsonb(s) ->> 'deleted_at' is null ${sessionId ? 'and s.id = ?' : ''}`;
  const params = sessionId ? [ownerId, sessionId] : [ownerId];
  const sessions = await em.execute<{ row: Row }[]>(
    `select to_jsonb(s) as row from sessions.sessions s where s.owner_id = ? ${filter}
     order by s.created_at, s.id`,
    params,
  );
  const [size] = await em.execute<{ n: string; bytes: string }[]>(
    `select count(*)::text as n, coalesce(sum(octet_length(m::text)), 0)::text as bytes
     from sessions.messages m join sessions.sessions s on s.id = m.session_id
     where s.owner_id = ? ${filter}`,
    params,
  );
  if (Number(size?.n ?? 0) > IMPORT_MAX_MESSAGES || Number(size?.bytes ?? 0) > EXPORT_MAX_BYTES)
    throw new AppError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `An export holds at most ${IMPORT_MAX_MESSAGES} messages and ${EXPORT_MAX_BYTES} bytes; export sessions one by one`,
      { field: 'sessionId', limit: IMPORT_MAX_MESSAGES },
    );
  const messages = await em.execute<{ row: Row }[]>(
    `select to_jsonb(m) as row from sessions.messages m join sessions.sessions s on s.id = m.session_id
     where s.owner_id = ? ${filter}
     order by m.session_id, (to_jsonb(m) ->> 'seq')::bigint nulls first, m.created_at, m.id`,
    params,
  );
  const attachments = await em.execute<{ row: Row }[]>(
    `select to_jsonb(a) - 'object_key' as row from sessions.attachments a
     join sessions.sessions s on s.id = a.session_id
     where s.owner_id = ? and a.status = 'ready' ${filter} order by a.created_at, a.id`,
    params,
  );
  const group = (rows: { row: Row }[]) => {
    const bySession = new Map<string, Row[]>();
    for (const { row } of rows) {
      const key = String(row.session_id);
      bySession.set(key, [...(bySession.get(key) ?? []), row]);
    }
    return bySession;
  };
  const messagesOf = group(messages);
  const attachmentsOf = group(attachments);
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date().toISOString(),
    sessions: sessions.map(({ row }) => ({
      session: row as ExportDocument['sessions'][number]['session'],
      messages: (messagesOf.get(String(row.id)) ?? []) as ExportDocument['sessions'][number]['messages'],
      attachments: attachmentsOf.get(String(row.id)) ?? [],
    })),
  };
}

const iso = (value: unknown) => (typeof value === 'string' ? new Date(value).toISOString() : '');

/** The conversation for people: one section per session, each message under its role and time. */
export function toMarkdown(document: ExportDocument): string {
  const count = document.sessions.reduce((n, s) => n + s.messages.length, 0);
  const lines = [
    '# Parley export',
    '',
    `Exported ${iso(document.exportedAt)}: ${document.sessions.length} session(s), ${count} message(s).`,
  ];
  for (const { session, messages, attachments } of document.sessions) {
    lines.push('', `## ${session.title.replace(/\s+/g, ' ')}`, '');
    lines.push(`- Session: \`${session.id}\``, `- Created: ${iso(session.created_at)}`);
    const tags = session.tags;
    if (Array.isArray(tags) && tags.length > 0) lines.push(`- Tags: ${tags.map(String).join(', ')}`);
    for (const message of messages) {
      lines.push('', `### ${message.role} · ${iso(message.created_at)}`, '', message.content);
      const files = (attachments ?? []).filter((a) => a.message_id === message.id);
      for (const file of files)
        lines.push('', `_Attachment: ${String(file.filename)} (${String(file.content_type)})_`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function createExporter(deps: { objects: ObjectStore; limits: StorageLimits }) {
  const { objects, limits } = deps;
  return async (
    _: unknown,
    { input }: { input: { sessionId?: string | null; format: ExportFormat } },
    ctx: DomainContext,
  ) => {
    const user = requireUser(ctx);
    const sessionId = input.sessionId ?? null;
    if (sessionId !== null) {
      await ownedForChange(ctx, SESSION, sessionId, 'exportSessions');
    }
    const document = await collectSessions(ctx.em, user.userId, sessionId);
    if (sessionId !== null && document.sessions.length === 0) throw notFound('Session');
    const messageCount = document.sessions.reduce((n, s) => n + s.messages.length, 0);
    const id = randomUUID();
    const json = input.format === 'JSON';
    const key = `${exportPrefixOf(user.userId)}${id}.${json ? 'json' : 'md'}`;
    const contentType = json ? 'application/json' : 'text/markdown; charset=utf-8';
    // The object first: a failed upload leaves no record; a failed commit leaves an object the
    // export sweep does not know (it is small, and expiring exports by bucket lifecycle covers it).
    await objects.put(key, json ? JSON.stringify(document) : toMarkdown(document), contentType);
    ctx.em.create(ExportRecord, {
      id,
      ownerId: user.userId,
      objectKey: key,
      format: input.format,
      sessionId,
      sessionCount: document.sessions.length,
      messageCount,
      createdAt: new Date(),
    });
    ctx.emit('sessions.exported', id, {
      exportId: id,
      format: input.format,
      sessionId,
      sessionCount: document.sessions.length,
      messageCount,
    });
    await ctx.commit();
    return {
      url: await objects.presignedDownload(key, limits.exportUrlTtlSeconds, {
        contentType,
        filename: `parley-export-${id}.${json ? 'json' : 'md'}`,
      }),
      expiresAt: new Date(Date.now() + limits.exportUrlTtlSeconds * 1000),
      format: input.format,
      sessionCount: document.sessions.length,
      messageCount,
    };
  };
}

/** Removes exports older than the allowed age (object, then row). */
export async function cleanupExports(
  em: EntityManager,
  objects: ObjectStore,
  limits: Pick<StorageLimits, 'exportMaxAgeSeconds'>,
  now = new Date(),
): Promise<number> {
  const old = await em.find(
    ExportRecord,
    { createdAt: { $lt: new Date(now.getTime() - limits.exportMaxAgeSeconds * 1000) } },
    { limit: 500 },
  );
  for (const record of old) {
    await objects.remove(record.objectKey);
    em.remove(record);
  }
  await em.flush();
  return old.length;
}
