import { describe, expect, it } from '@jest/globals';
import { REDACTED, redact } from './redaction.ts';

describe('audit redaction', () => {
  it('replaces declared sensitive values at any depth and keeps the keys', () => {
    expect(
      redact({ title: 'a', Password: 'x', nested: { accessToken: 't', list: [{ secret: 1 }, { ok: 2 }] } }),
    ).toEqual({
      title: 'a',
      Password: REDACTED,
      nested: { accessToken: REDACTED, list: [{ secret: REDACTED }, { ok: 2 }] },
    });
  });

  it('redacts a changed sensitive field on both sides of the change', () => {
    expect(redact({ token: { before: 'old', after: 'new' } })).toEqual({ token: REDACTED });
  });

  it('leaves scalars and null alone', () => {
    expect(redact(null)).toBeNull();
    expect(redact('plain')).toBe('plain');
  });
});
