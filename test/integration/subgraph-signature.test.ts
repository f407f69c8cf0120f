import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { signIdentity } from '../../platform/auth/identity.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

describe('a subgraph reached around the router', () => {
  let stack: TestStack;
  const query = JSON.stringify({ query: '{ sessions { edges { node { id } } } }' });

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function post(url: string, headers: Record<string, string>) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: query,
    });
    return {
      status: response.status,
      body: (await response.json()) as { errors?: { extensions: { code: string } }[]; data?: unknown },
    };
  }

  it.each(['sessions', 'tasks', 'audit'] as const)(
    'refuses the %s subgraph a request with no router signature',
    async (name) => {
      const r = await post(stack.parley.subgraphUrls[name], {});
      expect(r.status).toBe(401);
      expect(r.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    },
  );

  it('refuses an identity signed with another secret', async () => {
    const forged = signIdentity(
      'not-the-router-secret-but-long-enough!!',
      { userId: 'alice', scopes: ['admin'], via: 'jwt' },
      'r1',
    );
    const r = await post(stack.parley.subgraphUrls.sessions, { 'x-parley-identity': forged });
    expect(r.status).toBe(401);
  });

  it('answers a request the router signed', async () => {
    const signed = signIdentity(
      stack.config.INTERNAL_SIGNING_SECRET,
      { userId: 'alice', scopes: [], via: 'jwt' },
      'r2',
    );
    const r = await post(stack.parley.subgraphUrls.sessions, { 'x-parley-identity': signed });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ sessions: { edges: [] } });
  });

  it('ignores an identity header a client sends to the router', async () => {
    const token = await stack.token('bob');
    const forged = signIdentity(
      'not-the-router-secret-but-long-enough!!',
      { userId: 'alice', scopes: [], via: 'jwt' },
      'r3',
    );
    const response = await fetch(stack.parley.routerUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'x-parley-identity': forged,
      },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(((await response.json()) as { data: unknown }).data).toEqual({ me: { id: 'bob' } });
  });
});
