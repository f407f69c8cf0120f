import { createHmac, timingSafeEqual } from 'node:crypto';

/** Who is asking, as established by the router and trusted by the subgraphs. */
export interface Identity {
  /** User id (JWT `sub`, or the owner of an API key). */
  userId: string;
  scopes: string[];
  via: 'jwt' | 'api-key';
  apiKeyId?: string;
}

export const IDENTITY_HEADER = 'x-parley-identity';
export const ADMIN_SCOPE = 'admin';
const MAX_AGE_MS = 5 * 60_000;

/** Where a request came from, as the router saw it; audited with every change it causes. */
export interface RequestOrigin {
  ip?: string;
  userAgent?: string;
  traceId?: string;
}

interface SignedClaims {
  id: Identity | null;
  requestId: string;
  origin?: RequestOrigin;
  iat: number;
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const mac = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(payload).digest('base64url');

/** Signs the caller's identity (or its absence) for one router → subgraph request. */
export function signIdentity(
  secret: string,
  identity: Identity | null,
  requestId: string,
  now = Date.now(),
  origin: RequestOrigin = {},
): string {
  const payload = b64(JSON.stringify({ id: identity, requestId, origin, iat: now } satisfies SignedClaims));
  return `${payload}.${mac(secret, payload)}`;
}

export type VerifyResult =
  | { ok: true; identity: Identity | null; requestId: string; origin: RequestOrigin }
  | { ok: false; reason: string };

/** A subgraph accepts a request only when this returns ok: the header is the router's proof. */
export function verifyIdentity(secret: string, header: string | undefined, now = Date.now()): VerifyResult {
  if (!header) return { ok: false, reason: 'missing router signature' };
  const [payload, signature] = header.split('.');
  if (!payload || !signature) return { ok: false, reason: 'malformed router signature' };
  const expected = Buffer.from(mac(secret, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'invalid router signature' };
  }
  let claims: SignedClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SignedClaims;
  } catch {
    return { ok: false, reason: 'malformed router signature' };
  }
  if (typeof claims.iat !== 'number' || Math.abs(now - claims.iat) > MAX_AGE_MS) {
    return { ok: false, reason: 'expired router signature' };
  }
  return { ok: true, identity: claims.id, requestId: claims.requestId, origin: claims.origin ?? {} };
}
