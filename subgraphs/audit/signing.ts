import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './chain.ts';

/** PKCS#8 DER header of an Ed25519 private key: prepended to a raw 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface AuditSigner {
  keyId: string;
  algorithm: 'Ed25519';
  publicKeyPem: string;
  sign(statement: object): string;
  verify(statement: object, signature: string): boolean;
}

/** A PKCS#8 PEM, or the 32-byte seed in base64 (what AUDIT_SIGNING_KEY holds). */
function privateKeyOf(text: string): KeyObject {
  if (text.includes('BEGIN')) return createPrivateKey(text);
  const seed = Buffer.from(text, 'base64');
  if (seed.length !== 32) throw new Error('AUDIT_SIGNING_KEY must be a PKCS#8 PEM or a base64 32-byte seed');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Signs digest statements (canonical JSON) with Ed25519; the key id is a fingerprint of the public key. */
export function createAuditSigner(keyText: string): AuditSigner {
  const privateKey = privateKeyOf(keyText);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('AUDIT_SIGNING_KEY is not an Ed25519 key');
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyId = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
  return {
    keyId,
    algorithm: 'Ed25519',
    publicKeyPem,
    sign: (statement) => sign(null, Buffer.from(canonicalJson(statement)), privateKey).toString('base64'),
    verify: (statement, signature) => {
      try {
        return verify(
          null,
          Buffer.from(canonicalJson(statement)),
          publicKey,
          Buffer.from(signature, 'base64'),
        );
      } catch {
        return false;
      }
    },
  };
}
