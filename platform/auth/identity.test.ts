import { describe, expect, it } from '@jest/globals';
import { signIdentity, verifyIdentity, type Identity } from './identity.ts';

const secret = 'a-test-secret-that-is-long-enough-000';
const alice: Identity = { userId: 'alice', scopes: [], via: 'jwt' };

describe('router identity signature', () => {
  it('round-trips an identity signed with the shared secret', () => {
    const result = verifyIdentity(secret, signIdentity(secret, alice, 'req-1'));
    expect(result).toEqual({ ok: true, identity: alice, requestId: 'req-1', origin: {} });
  });

  it('rejects a header signed with another secret', () => {
    const header = signIdentity('another-secret-that-is-long-enough-0', alice, 'req-1');
    expect(verifyIdentity(secret, header)).toEqual({ ok: false, reason: 'invalid router signature' });
  });

  it('rejects an identity a client edited after signing', () => {
    const [, signature] = signIdentity(secret, alice, 'req-1').split('.');
    const forged = Buffer.from(
      JSON.stringify({ id: { ...alice, userId: 'bob' }, requestId: 'r', iat: Date.now() }),
    ).toString('base64url');
    expect(verifyIdentity(secret, `${forged}.${signature}`).ok).toBe(false);
  });

  it('rejects a missing or stale header', () => {
    expect(verifyIdentity(secret, undefined)).toEqual({ ok: false, reason: 'missing router signature' });
    const old = signIdentity(secret, alice, 'req-1', Date.now() - 10 * 60_000);
    expect(verifyIdentity(secret, old)).toEqual({ ok: false, reason: 'expired router signature' });
  });
});
