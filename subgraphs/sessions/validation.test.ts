import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../platform/errors.ts';
import {
  LIMITS,
  decodeMessageCursor,
  decodeOffsetCursor,
  encodeMessageCursor,
  encodeOffsetCursor,
  validContext,
  validEmbedding,
  validMetadata,
  validTags,
  validTitle,
} from './validation.ts';

function errorOf(fn: () => unknown): { code: unknown; field: unknown } {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return { code: error.extensions.code, field: error.extensions.field };
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('session input validation', () => {
  it('trims titles and refuses empty or overlong ones', () => {
    expect(validTitle('  Hello ')).toBe('Hello');
    expect(errorOf(() => validTitle('   '))).toEqual({ code: 'BAD_USER_INPUT', field: 'title' });
    expect(errorOf(() => validTitle('x'.repeat(LIMITS.title + 1)))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'title',
    });
  });

  it('normalizes tags to trimmed lower case without duplicates, within the limits', () => {
    expect(validTags([' Work', 'work', 'Q3 plans', 'a/b'])).toEqual(['work', 'q3 plans', 'a/b']);
    expect(errorOf(() => validTags(['']))).toEqual({ code: 'BAD_USER_INPUT', field: 'tags' });
    expect(errorOf(() => validTags(['-dash-first']))).toEqual({ code: 'BAD_USER_INPUT', field: 'tags' });
    expect(errorOf(() => validTags(Array.from({ length: LIMITS.tags + 1 }, (_, i) => `t${i}`)))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'tags',
    });
  });

  it('accepts metadata objects up to the size and depth limits', () => {
    expect(validMetadata(undefined)).toBeNull();
    expect(validMetadata({ a: { b: [1, 2] } })).toEqual({ a: { b: [1, 2] } });
    expect(errorOf(() => validMetadata('text'))).toEqual({ code: 'BAD_USER_INPUT', field: 'metadata' });
    expect(errorOf(() => validMetadata({ s: 'x'.repeat(LIMITS.metadataBytes) }))).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'metadata',
    });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < LIMITS.metadataDepth; i += 1) deep = { d: deep };
    expect(errorOf(() => validMetadata(deep))).toEqual({ code: 'BAD_USER_INPUT', field: 'metadata' });
  });

  it('validates each retrieved chunk and names the offending one', () => {
    expect(validContext([{ sourceId: ' s1 ', snippet: 'x', score: 0.5 }])).toEqual([
      { sourceId: 's1', uri: null, title: null, snippet: 'x', score: 0.5 },
    ]);
    expect(
      errorOf(() =>
        validContext([
          { sourceId: 'ok', snippet: 'x', score: 0.1 },
          { sourceId: ' ', snippet: 'x', score: 0.1 },
        ]),
      ),
    ).toEqual({ code: 'BAD_USER_INPUT', field: 'context.1.sourceId' });
    expect(errorOf(() => validContext([{ sourceId: 's', snippet: 'x', score: Number.NaN }]))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'context.0.score',
    });
  });

  it('refuses empty, oversized, non-finite and zero embeddings', () => {
    expect(validEmbedding([0.1, -0.2])).toEqual([0.1, -0.2]);
    for (const bad of [
      [],
      [0, 0],
      [1, Number.POSITIVE_INFINITY],
      new Array<number>(LIMITS.embeddingDimensions + 1).fill(1),
    ])
      expect(errorOf(() => validEmbedding(bad))).toEqual({ code: 'BAD_USER_INPUT', field: 'embedding' });
  });

  it('round-trips cursors and rejects forged ones', () => {
    expect(decodeMessageCursor(encodeMessageCursor(42), 'after')).toBe(42);
    expect(decodeOffsetCursor(encodeOffsetCursor(7))).toBe(7);
    expect(errorOf(() => decodeMessageCursor(encodeOffsetCursor(7), 'before'))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'before',
    });
    expect(errorOf(() => decodeOffsetCursor('garbage'))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});
