import { AppError, ErrorCode, badInput } from '../../platform/errors.ts';
import type { RetrievedChunk } from './entities.ts';

/** Documented in docs/sessions.md; every limit is enforced here before anything is written. */
export const LIMITS = {
  title: 200,
  content: 100_000,
  /** Serialized JSON size of a message's metadata, in bytes. */
  metadataBytes: 16_384,
  metadataDepth: 8,
  tags: 20,
  tagLength: 40,
  contextChunks: 50,
  chunkSnippet: 2_000,
  chunkField: 500,
  idempotencyKey: 200,
  tokenCount: 10_000_000,
  embeddingDimensions: 4_096,
  searchQuery: 500,
  /** A fork copies at most this many messages. */
  forkMessages: 10_000,
} as const;

export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);
export const tooLarge = (field: string, message: string) =>
  new AppError(ErrorCode.PAYLOAD_TOO_LARGE, message, { field });

export { isUuid } from '../../platform/graphql/owned.ts';

export function validTitle(title: string, field = 'title'): string {
  const trimmed = title.trim();
  if (trimmed === '') throw badInput(field, 'Title must not be empty');
  if (trimmed.length > LIMITS.title) throw badInput(field, `Title is longer than ${LIMITS.title} characters`);
  return trimmed;
}

/** Tags are trimmed, lower-cased and de-duplicated; order of first appearance is kept. */
export function validTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim().toLowerCase();
    if (tag === '') throw badInput('tags', 'Tags must not be empty');
    if (tag.length > LIMITS.tagLength)
      throw badInput('tags', `A tag is longer than ${LIMITS.tagLength} characters`);
    if (!/^[\p{L}\p{N}][\p{L}\p{N} _.:/-]*$/u.test(tag))
      throw badInput(
        'tags',
        'Tags use letters, digits, space and _ . : / -, starting with a letter or digit',
      );
    if (!out.includes(tag)) out.push(tag);
  }
  if (out.length > LIMITS.tags) throw badInput('tags', `At most ${LIMITS.tags} tags`);
  return out;
}

export function validContent(content: string): string {
  if (content.trim() === '') throw badInput('content', 'Content must not be empty');
  if (content.length > LIMITS.content)
    throw tooLarge('content', `Content is longer than ${LIMITS.content} characters`);
  return content;
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((max, child) => Math.max(max, depthOf(child)), 0);
}

/** Metadata is a JSON object, bounded in serialized size and nesting. */
export function validMetadata(metadata: unknown): Record<string, unknown> | null {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata))
    throw badInput('metadata', 'Metadata must be a JSON object');
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > LIMITS.metadataBytes)
    throw tooLarge('metadata', `Metadata is larger than ${LIMITS.metadataBytes} bytes of JSON`);
  if (depthOf(metadata) > LIMITS.metadataDepth)
    throw badInput('metadata', `Metadata is nested deeper than ${LIMITS.metadataDepth} levels`);
  return metadata as Record<string, unknown>;
}

export interface RetrievedChunkInput {
  sourceId: string;
  uri?: string | null;
  title?: string | null;
  snippet: string;
  score: number;
}

export function validContext(
  chunks: readonly RetrievedChunkInput[] | null | undefined,
): RetrievedChunk[] | null {
  if (chunks === null || chunks === undefined) return null;
  if (chunks.length > LIMITS.contextChunks)
    throw tooLarge('context', `At most ${LIMITS.contextChunks} retrieved chunks`);
  return chunks.map((chunk, i) => {
    const field = `context.${i}`;
    const sourceId = chunk.sourceId.trim();
    if (sourceId === '' || sourceId.length > LIMITS.chunkField)
      throw badInput(`${field}.sourceId`, `sourceId must be 1–${LIMITS.chunkField} characters`);
    let uri: string | null = null;
    if (chunk.uri !== null && chunk.uri !== undefined) {
      if (chunk.uri.length > LIMITS.chunkField || !URL.canParse(chunk.uri))
        throw badInput(`${field}.uri`, 'uri must be an absolute URI');
      uri = chunk.uri;
    }
    const title = chunk.title ?? null;
    if (title !== null && title.length > LIMITS.chunkField)
      throw badInput(`${field}.title`, `title is longer than ${LIMITS.chunkField} characters`);
    if (chunk.snippet.length > LIMITS.chunkSnippet)
      throw badInput(`${field}.snippet`, `snippet is longer than ${LIMITS.chunkSnippet} characters`);
    if (!Number.isFinite(chunk.score) || chunk.score < 0 || chunk.score > 1)
      throw badInput(`${field}.score`, 'score must be between 0 and 1');
    return { sourceId, uri, title, snippet: chunk.snippet, score: chunk.score };
  });
}

export function validEmbedding(
  embedding: readonly number[] | null | undefined,
  field = 'embedding',
): number[] | null {
  if (embedding === null || embedding === undefined) return null;
  if (embedding.length === 0 || embedding.length > LIMITS.embeddingDimensions)
    throw badInput(field, `An embedding has 1–${LIMITS.embeddingDimensions} dimensions`);
  if (!embedding.every((x) => Number.isFinite(x))) throw badInput(field, 'Embedding values must be finite');
  if (embedding.every((x) => x === 0)) throw badInput(field, 'An embedding must not be all zeros');
  return [...embedding];
}

export function validIdempotencyKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  if (key.length === 0 || key.length > LIMITS.idempotencyKey)
    throw badInput('idempotencyKey', `idempotencyKey must be 1–${LIMITS.idempotencyKey} characters`);
  return key;
}

export function validTokenCount(count: number | null | undefined): number | null {
  if (count === null || count === undefined) return null;
  if (!Number.isInteger(count) || count < 0 || count > LIMITS.tokenCount)
    throw badInput('tokenCount', `tokenCount must be an integer between 0 and ${LIMITS.tokenCount}`);
  return count;
}

/** Message cursors are the message's position in its session: stable while messages are appended. */
export function encodeMessageCursor(seq: number): string {
  return Buffer.from(`m|${seq}`).toString('base64url');
}

export function decodeMessageCursor(cursor: string | null | undefined, field: string): number | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const match = /^m\|(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw badInput(field, 'Invalid cursor');
  return Number(match[1]);
}

/** Search and session-list cursors: an offset or a keyset, opaque to clients. */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(`o|${offset}`).toString('base64url');
}

export function decodeOffsetCursor(cursor: string | null | undefined): number {
  if (cursor === null || cursor === undefined) return 0;
  const match = /^o\|(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw badInput('after', 'Invalid cursor');
  return Number(match[1]);
}
