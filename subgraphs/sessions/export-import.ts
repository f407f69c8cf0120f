import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, ErrorCode, badInput } from '../../platform/errors.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { Session } from './entities.ts';
import { exportDocument, type ExportDocument, type Row } from './export-document.ts';
import { exportPrefixOf } from './export.ts';
import type { StorageLimits } from './storage-limits.ts';

export interface Column {
  name: string;
  type: string;
}

/** Columns a row may be inserted with: not generated, not filled from a sequence. */
async function insertableColumns(em: EntityManager, table: string): Promise<Column[]> {
  return em.execute<Column[]>(
    `select column_name as name, data_type as type from information_schema.columns
     where table_schema = 'sessions' and table_name = ? and is_generated = 'NEVER'
       and coalesce(identity_generation, '') <> 'ALWAYS'
       and coalesce(column_default, '') not like 'nextval(%'
     order by ordinal_position`,
    [table],
  );
}

/** Request-scoped keys would collide with the originals; they are not carried over. */
const NOT_IMPORTED = new Set(['idempotency_key']);

/**
 * A row as it will be inserted: `fixed` columns are set, other uuid columns (references such as a
 * parent message) are mapped to the new ids, or cleared when they point outside the document.
 */
export function remap(row: Row, fixed: Row, columns: Column[], ids: Map<string, string>): Row {
  const out: Row = {};
  for (const column of columns) {
    if (column.name in fixed) out[column.name] = fixed[column.name];
    else if (!(column.name in row) || NOT_IMPORTED.has(column.name)) continue;
    else if (column.type === 'uuid') {
      const value = row[column.name];
      out[column.name] = typeof value === 'string' ? (ids.get(value) ?? null) : null;
    } else out[column.name] = row[column.name];
  }
  return out;
}

/** Inserts rows by column name; Postgres converts each JSON value to its column's type. */
async function insertRows(em: EntityManager, table: string, rows: Row[]) {
  if (rows.length === 0) return;
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const list = names.map((n) => `"${n.replaceAll('"', '""')}"`).join(', ');
  await em.execute(
    `insert into sessions."${table}" (${list})
     select ${list} from jsonb_populate_recordset(null::sessions."${table}", ?::jsonb)`,
    [JSON.stringify(rows)],
    'run',
  );
}

/** Fresh ids in ascending order, so messages with equal timestamps keep their order. */
const ascendingIds = (count: number) => Array.from({ length: count }, () => randomUUID()).sort();

async function readDocument(
  input: { document?: string | null; exportUrl?: string | null },
  ownerId: string,
  objects: ObjectStore,
  limits: StorageLimits,
): Promise<{ text: string; field: string }> {
  const hasDocument = typeof input.document === 'string';
  const hasUrl = typeof input.exportUrl === 'string';
  if (hasDocument === hasUrl) throw badInput('document', 'Give exactly one of document and exportUrl');
  const tooLarge = (field: string) =>
    new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `Imports are limited to ${limits.importMaxBytes} bytes`, {
      field,
      limit: limits.importMaxBytes,
    });
  if (hasDocument) {
    if (Buffer.byteLength(input.document!) > limits.importMaxBytes) throw tooLarge('document');
    return { text: input.document!, field: 'document' };
  }
  // Only the key is used: the document is read from Parley's own bucket, never fetched from the
  // URL, and only from under the caller's export prefix (no server-side request to arbitrary hosts).
  let key: string;
  try {
    const path = decodeURIComponent(new URL(input.exportUrl!).pathname);
    key = path.startsWith(`/${objects.bucket}/`) ? path.slice(objects.bucket.length + 2) : '';
  } catch {
    key = '';
  }
  if (!key.startsWith(exportPrefixOf(ownerId)) || !key.endsWith('.json') || key.includes('..'))
    throw badInput('exportUrl', 'Not the URL of a JSON export of yours');
  const stored = await objects.head(key);
  if (!stored) throw badInput('exportUrl', 'The export no longer exists');
  if (stored.size > limits.importMaxBytes) throw tooLarge('exportUrl');
  return { text: (await objects.get(key)).toString('utf8'), field: 'exportUrl' };
}

function parseDocument(text: string, field: string): ExportDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badInput(field, 'The document is not valid JSON');
  }
  const result = exportDocument.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = [field, ...issue.path.map(String)].join('.');
    throw badInput(where, `${where}: ${issue.message}`);
  }
  return result.data;
}

/**
 * A value the table refuses (a wrong type, a missing required column, a broken constraint: SQL
 * states 22xxx and 23xxx) is the document's fault, not the server's.
 */
function doesNotFit(error: unknown, field: string): unknown {
  const state =
    (error as { code?: string; sqlState?: string }).code ?? (error as { sqlState?: string }).sqlState;
  if (typeof state !== 'string' || !/^2[23]/.test(state)) return error;
  const detail = (error as { message?: string }).message?.split('\n').pop()?.slice(0, 300) ?? '';
  return badInput(field, `The document does not fit the sessions tables: ${detail}`);
}

export function createImporter(deps: { objects: ObjectStore; limits: StorageLimits }) {
  const { objects, limits } = deps;
  return async (
    _: unknown,
    { input }: { input: { document?: string | null; exportUrl?: string | null } },
    ctx: DomainContext,
  ) => {
    const user = requireUser(ctx);
    const { text, field } = await readDocument(input, user.userId, objects, limits);
    const document = parseDocument(text, field);
    const em = ctx.em;
    const sessionColumns = await insertableColumns(em, 'sessions');
    const messageColumns = await insertableColumns(em, 'messages');
    const ids = new Map<string, string>();
    const newSessionIds = document.sessions.map(() => randomUUID());
    document.sessions.forEach((s, i) => ids.set(s.session.id, newSessionIds[i]!));
    const all = document.sessions.flatMap((s) => s.messages);
    ascendingIds(all.length).forEach((id, i) => ids.set(all[i]!.id, id));
    if (ids.size !== document.sessions.length + all.length)
      throw badInput(field, 'Session and message ids must be unique in the document');
    let messageCount = 0;
    await em.begin();
    try {
      for (const { session, messages } of document.sessions) {
        const sessionId = ids.get(session.id)!;
        const now = new Date().toISOString();
        const fixed: Row = { id: sessionId, owner_id: user.userId, title: session.title };
        // Per-session positions, when the tables keep them and the document has none.
        const positions = messageColumns.some((c) => c.name === 'seq');
        if (positions && sessionColumns.some((c) => c.name === 'message_seq') && !('message_seq' in session))
          fixed.message_seq = messages.length;
        await insertRows(em, 'sessions', [
          remap({ updated_at: now, ...session }, fixed, sessionColumns, ids),
        ]);
        await insertRows(
          em,
          'messages',
          messages.map((m, i) =>
            remap(
              m,
              {
                id: ids.get(m.id),
                session_id: sessionId,
                owner_id: user.userId,
                ...(positions && !('seq' in m) ? { seq: i + 1 } : {}),
              },
              messageColumns,
              ids,
            ),
          ),
        );
        // The same events as sessions and messages created one by one: projections and the audit
        // trail see imported history like any other.
        ctx.emit('session.created', sessionId, { sessionId, title: session.title });
        for (const m of messages)
          ctx.emit('message.added', sessionId, {
            sessionId,
            messageId: ids.get(m.id)!,
            role: m.role,
            preview: m.content.slice(0, 280),
            createdAt: new Date(m.created_at).toISOString(),
          });
        messageCount += messages.length;
      }
      await em.commit();
    } catch (error) {
      await em.rollback();
      throw doesNotFit(error, field);
    }
    await ctx.commit();
    const created = await em.find(Session, { id: { $in: newSessionIds } });
    const byId = new Map(created.map((s) => [s.id, s]));
    return {
      sessions: newSessionIds.map((id) => byId.get(id)).filter(Boolean),
      sessionCount: newSessionIds.length,
      messageCount,
    };
  };
}
