import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createAuditSigner } from './signing.ts';
import { canonicalJson } from './chain.ts';

const seed = Buffer.alloc(32, 7).toString('base64');

describe('the audit signer', () => {
  it('signs a statement that anyone can verify with the published public key alone', () => {
    const signer = createAuditSigner(seed);
    const statement = { fromPosition: '1', toPosition: '9', lastHash: 'ab' };
    const signature = signer.sign(statement);
    expect(
      verify(
        null,
        Buffer.from(canonicalJson(statement)),
        signer.publicKeyPem,
        Buffer.from(signature, 'base64'),
      ),
    ).toBe(true);
    expect(signer.verify(statement, signature)).toBe(true);
  });

  it('rejects a signature over a changed statement or a garbled signature', () => {
    const signer = createAuditSigner(seed);
    const signature = signer.sign({ lastHash: 'ab' });
    expect(signer.verify({ lastHash: 'ac' }, signature)).toBe(false);
    expect(signer.verify({ lastHash: 'ab' }, 'AAAA')).toBe(false);
  });

  it('accepts a PKCS#8 PEM and gives each key its own id', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(createAuditSigner(pem).keyId).not.toBe(createAuditSigner(seed).keyId);
    expect(createAuditSigner(seed).keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a key that is not Ed25519 or not 32 bytes', () => {
    expect(() => createAuditSigner(Buffer.alloc(16).toString('base64'))).toThrow(/32-byte seed/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => createAuditSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(
      /not an Ed25519 key/,
    );
  });
});
