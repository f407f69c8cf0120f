import { z } from 'zod';
import { LIMITS } from './resolvers.ts';

/**
 * The JSON export format (docs/sessions-storage.md). Rows are whole table rows as Postgres
 * serialises them (`to_jsonb`), so columns added later travel without changing this file; the
 * fields import relies on are checked strictly, the others pass through and are inserted by
 * column name when the table has such a column.
 */
export const EXPORT_FORMAT = 'parley.sessions';
export const EXPORT_VERSION = 1;
export const IMPORT_MAX_SESSIONS = 1000;
export const IMPORT_MAX_MESSAGES = 50_000;
/** An export is built in memory; its rows may not exceed this (Postgres' text size of the rows). */
export const EXPORT_MAX_BYTES = 256 * 1024 * 1024;

const time = z.iso.datetime({ offset: true });

const sessionRow = z.looseObject({
  id: z.uuid(),
  title: z.string().trim().min(1).max(LIMITS.title),
  created_at: time,
  updated_at: time.optional(),
});

const messageRow = z.looseObject({
  id: z.uuid(),
  role: z.enum(['user', 'assistant', 'system', 'tool']),
  content: z.string().min(1).max(LIMITS.content),
  created_at: time,
});

export const exportDocument = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: time,
  sessions: z
    .array(
      z.strictObject({
        session: sessionRow,
        messages: z.array(messageRow).max(IMPORT_MAX_MESSAGES),
        /** Metadata only; attachments' bytes are not part of an export and are not imported. */
        attachments: z.array(z.record(z.string(), z.unknown())).optional(),
      }),
    )
    .min(1)
    .max(IMPORT_MAX_SESSIONS)
    .refine((s) => s.reduce((n, x) => n + x.messages.length, 0) <= IMPORT_MAX_MESSAGES, {
      message: `At most ${IMPORT_MAX_MESSAGES} messages in all`,
    }),
});
export type ExportDocument = z.infer<typeof exportDocument>;
export type Row = Record<string, unknown>;
