import { randomBytes } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { loadConfig } from '../../platform/config.ts';
import { createLogger } from '../../platform/logger.ts';
import { issueDevToken } from '../../platform/auth/authenticate.ts';
import { parleyEnv, startParley, type Parley, type ParleyConfig } from '../../platform/parley.ts';
import { ADMIN_DATABASE_URL, RUN_PREFIX, TEMPLATE_DB, databaseUrlFor } from './env.ts';

export const uniqueName = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

/** A database of this test file's own, copied from the migrated template. */
export async function createTestDatabase(): Promise<{ url: string; name: string }> {
  const name = uniqueName(RUN_PREFIX);
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await admin.query(`create database "${name}" template "${TEMPLATE_DB}"`);
        break;
      } catch (error) {
        // Two files copying the template at the same instant can collide; the copy is retried.
        if (attempt >= 10) throw error;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  return { url: databaseUrlFor(name), name };
}

export function testConfig(overrides: Record<string, string | undefined> = {}): ParleyConfig {
  return loadConfig(parleyEnv, {
    ...process.env,
    PARLEY_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    ROUTER_PORT: '0',
    SESSIONS_PORT: '0',
    TASKS_PORT: '0',
    AUDIT_PORT: '0',
    PROCESSORS_PORT: '0',
    KAFKA_TOPIC_PREFIX: uniqueName('t') + '.',
    S3_BUCKET: uniqueName('bucket-'),
    ...overrides,
  });
}

export interface TestStack {
  parley: Parley;
  config: ParleyConfig;
  databaseUrl: string;
  token(userId: string, scopes?: string[]): Promise<string>;
  gql<T = Record<string, unknown>>(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GqlResponse<T>>;
  subscribe(token: string, query: string, variables?: Record<string, unknown>): Promise<LiveSubscription>;
  stop(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export interface LiveSubscription {
  /** Waits for the next payload (or fails after timeoutMs). */
  next(timeoutMs?: number): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;
  received: { data?: Record<string, unknown>; errors?: unknown[] }[];
  close(): Promise<void>;
}

/** The whole of Parley in this test process, on the real Postgres and the chosen transport. */
export async function startTestStack(options: {
  transport: 'kafka' | 'embedded';
  env?: Record<string, string>;
}): Promise<TestStack> {
  const { url } = await createTestDatabase();
  const config = testConfig({
    ...(options.transport === 'embedded' ? { KAFKA_BROKERS: '' } : {}),
    ...options.env,
  });
  const logger = createLogger({ service: 'test', level: config.LOG_LEVEL });
  const parley = await startParley({
    config,
    logger,
    databaseUrl: url,
    groupPrefix: config.KAFKA_TOPIC_PREFIX,
    objectStore: {
      endpoint: config.S3_ENDPOINT!,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: config.S3_SECRET_KEY,
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
    },
  });
  const clients: Client[] = [];

  return {
    parley,
    config,
    databaseUrl: url,
    token: (userId, scopes = []) => issueDevToken(config.JWT_SECRET, userId, scopes, '1h'),
    async gql<T>(token: string | null, query: string, variables: Record<string, unknown> = {}) {
      const response = await fetch(parley.routerUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GqlResponse<T>, 'status'>;
      return { status: response.status, ...body };
    },
    async subscribe(token, query, variables = {}) {
      const before = parley.router.engine.listenerCount();
      const client = createClient({
        url: parley.routerUrl.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      clients.push(client);
      const received: LiveSubscription['received'] = [];
      const waiters: (() => void)[] = [];
      let failure: unknown;
      const dispose = client.subscribe(
        { query, variables },
        {
          next: (value) => {
            received.push(value as LiveSubscription['received'][number]);
            waiters.splice(0).forEach((w) => w());
          },
          error: (error) => {
            failure = error;
            waiters.splice(0).forEach((w) => w());
          },
          complete: () => undefined,
        },
      );
      // Resolves once the router has registered the listener, so no event is missed.
      const deadline = Date.now() + 10_000;
      while (parley.router.engine.listenerCount() <= before) {
        if (failure) throw new Error(`subscription failed: ${JSON.stringify(failure)}`);
        if (Date.now() > deadline) throw new Error('subscription was not registered within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      let consumed = 0;
      return {
        received,
        async next(timeoutMs = 15_000) {
          const end = Date.now() + timeoutMs;
          while (received.length <= consumed) {
            if (failure) throw new Error(`subscription failed: ${JSON.stringify(failure)}`);
            const left = end - Date.now();
            if (left <= 0) throw new Error(`no subscription payload within ${timeoutMs} ms`);
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, left);
              waiters.push(() => {
                clearTimeout(timer);
                resolve();
              });
            });
          }
          return received[consumed++]!;
        },
        async close() {
          // Waits until the router has let go of the listener, so the next subscribe counts right.
          const open = parley.router.engine.listenerCount();
          dispose();
          await client.dispose();
          const end = Date.now() + 10_000;
          while (parley.router.engine.listenerCount() >= open && Date.now() < end) {
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      };
    },
    async stop() {
      await Promise.all(clients.map((c) => Promise.resolve(c.dispose())));
      await parley.stop();
    },
  };
}

/** Polls until check returns a value (not undefined), or fails after timeoutMs. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end)
      throw new Error(
        `${what} not reached within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
