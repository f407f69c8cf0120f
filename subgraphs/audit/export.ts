import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ObjectStore } from '../../platform/objects.ts';
import { AuditRecord } from './entities.ts';
import type { AuditSigner } from './signing.ts';

export type ExportFormat = 'NDJSON' | 'CSV';
const PAGE = 1000;
export const EXPORT_URL_TTL_SECONDS = 3600;

const COLUMNS = [
  'position',
  'id',
  'eventId',
  'occurredAt',
  'actorId',
  'actorKind',
  'apiKeyId',
  'ip',
  'userAgent',
  'action',
  'entityType',
  'entityId',
  'outcome',
  'requestId',
  'traceId',
  'data',
  'changes',
  'prevHash',
  'hash',
] as const;

function plain(r: AuditRecord): Record<(typeof COLUMNS)[number], unknown> {
  return Object.fromEntries(
    COLUMNS.map((c) => [c, c === 'occurredAt' ? r.occurredAt.toISOString() : (r[c] ?? null)]),
  ) as Record<(typeof COLUMNS)[number], unknown>;
}

/** RFC 4180 quoting, and a leading quote on values a spreadsheet would run as a formula. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (cells: unknown[]) => `${cells.map(csvCell).join(',')}\n`;

export interface ExportStatement {
  exportId: string;
  key: string;
  format: ExportFormat;
  recordCount: number;
  sha256: string;
  fromPosition: string | null;
  toPosition: string | null;
  lastHash: string | null;
  createdAt: string;
  keyId: string;
}

/**
 * Streams the matching records, oldest first, into one object (page by page: memory stays
 * flat however large the range) and returns a statement, signed with the audit key, that
 * covers the file's SHA-256 and the chain positions it spans.
 */
export async function exportRecords(deps: {
  fork: () => EntityManager;
  objects: ObjectStore;
  signer: AuditSigner;
  where: () => object;
  format: ExportFormat;
}): Promise<{ statement: ExportStatement; signature: string; url: string; expiresAt: Date }> {
  const exportId = randomUUID();
  const extension = deps.format === 'CSV' ? 'csv' : 'ndjson';
  const key = `audit-exports/${new Date().toISOString().slice(0, 10)}/${exportId}.${extension}`;
  const sha = createHash('sha256');
  let recordCount = 0;
  let first: AuditRecord | undefined;
  let last: AuditRecord | undefined;
  async function* lines(): AsyncGenerator<string> {
    const emit = (text: string) => {
      sha.update(text);
      return text;
    };
    if (deps.format === 'CSV') yield emit(csvLine([...COLUMNS]));
    for (;;) {
      const after = last?.position;
      const page = await deps
        .fork()
        .find(AuditRecord, after ? { $and: [deps.where(), { position: { $gt: after } }] } : deps.where(), {
          orderBy: { position: 'asc' },
          limit: PAGE,
        });
      // One chunk per page: the upload holds at most one part in memory.
      yield emit(
        page
          .map((record) => {
            const row = plain(record);
            return deps.format === 'CSV' ? csvLine(COLUMNS.map((c) => row[c])) : `${JSON.stringify(row)}\n`;
          })
          .join(''),
      );
      recordCount += page.length;
      first ??= page[0];
      last = page.at(-1) ?? last;
      if (page.length < PAGE) return;
    }
  }
  await deps.objects.putStream(key, lines(), deps.format === 'CSV' ? 'text/csv' : 'application/x-ndjson');
  const statement: ExportStatement = {
    exportId,
    key,
    format: deps.format,
    recordCount,
    sha256: sha.digest('hex'),
    fromPosition: first?.position ?? null,
    toPosition: last?.position ?? null,
    lastHash: last?.hash ?? null,
    createdAt: new Date().toISOString(),
    keyId: deps.signer.keyId,
  };
  return {
    statement,
    signature: deps.signer.sign(statement),
    url: await deps.objects.presignedGet(key, EXPORT_URL_TTL_SECONDS),
    expiresAt: new Date(Date.now() + EXPORT_URL_TTL_SECONDS * 1000),
  };
}
