import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor, pageSize, toPage } from './pagination.ts';

describe('cursor pagination', () => {
  it('round-trips a keyset cursor', () => {
    const time = new Date('2026-01-02T03:04:05.678Z');
    expect(decodeCursor(encodeCursor(time, 'abc'))).toEqual({ time, id: 'abc' });
  });

  it('refuses a tampered cursor with BAD_USER_INPUT on the after field', () => {
    expect(() => decodeCursor('garbage')).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }),
      }),
    );
  });

  it('bounds the page size', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(() => pageSize(0)).toThrow(/between 1 and 100/);
    expect(() => pageSize(101)).toThrow(/between 1 and 100/);
  });

  it('reports a next page only when one more row exists', () => {
    const rows = [1, 2, 3].map((n) => ({ id: String(n), at: new Date(n * 1000) }));
    expect(toPage(rows, 2, (r) => r.at).pageInfo.hasNextPage).toBe(true);
    expect(toPage(rows, 3, (r) => r.at).pageInfo.hasNextPage).toBe(false);
  });
});
