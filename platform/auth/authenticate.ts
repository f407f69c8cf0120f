import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { unauthenticated } from '../errors.ts';
import type { Identity } from './identity.ts';

export interface ApiKeyStore {
  /** Looks a key up by the SHA-256 of its secret; keys are never stored in clear. */
  findByHash(hash: string): Promise<{ id: string; userId: string; scopes: string[] } | null>;
}

export interface AuthenticatorOptions {
  jwtSecret: string;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  apiKeys: ApiKeyStore;
}

export const API_KEY_PREFIX = 'pk_';
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');
export const newApiKeySecret = () => `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;

const scopesOf = (claim: unknown): string[] =>
  typeof claim === 'string'
    ? claim.split(' ').filter(Boolean)
    : Array.isArray(claim)
      ? claim.map(String)
      : [];

export type Authenticator = (headers: {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}) => Promise<Identity | null>;

/** Turns request credentials into an Identity; no credentials → null; bad credentials → UNAUTHENTICATED. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : undefined;
  const secret = new TextEncoder().encode(options.jwtSecret);
  const verifyOptions = {
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };

  return async ({ authorization, apiKey }) => {
    const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    const key = apiKey ?? (bearer?.startsWith(API_KEY_PREFIX) ? bearer : undefined);
    if (key) {
      const found = await options.apiKeys.findByHash(hashApiKey(key));
      if (!found) throw unauthenticated('Invalid API key');
      return { userId: found.userId, scopes: found.scopes, via: 'api-key', apiKeyId: found.id };
    }
    if (!bearer) {
      if (authorization) throw unauthenticated('Authorization header must be "Bearer <token>"');
      return null;
    }
    try {
      const { payload } = jwks
        ? await jwtVerify(bearer, jwks, verifyOptions)
        : await jwtVerify(bearer, secret, { ...verifyOptions, algorithms: ['HS256'] });
      if (!payload.sub) throw new Error('token has no subject');
      return { userId: payload.sub, scopes: scopesOf(payload.scope ?? payload.scopes), via: 'jwt' };
    } catch {
      throw unauthenticated('Invalid or expired token');
    }
  };
}

/** Development and test helper: an HS256 token for a user. */
export async function issueDevToken(secret: string, userId: string, scopes: string[] = [], ttl = '30d') {
  return new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}
