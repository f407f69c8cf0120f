import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ROOT, RUN_DIR } from '../support/env.ts';

describe('npm start on embedded parts (no database server, Kafka or S3 configured)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('serves /healthz, and its printed token works for a mutation and a subscription; Ctrl-C stops it', async () => {
    const cwd = mkdtempSync(join(RUN_DIR, 'npm-start-'));
    const env: Record<string, string | undefined> = {
      ...process.env,
      ROUTER_PORT: '0',
      SESSIONS_PORT: '0',
      TASKS_PORT: '0',
      AUDIT_PORT: '0',
      PROCESSORS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    for (const name of [
      'DATABASE_URL',
      'KAFKA_BROKERS',
      'S3_ENDPOINT',
      'S3_ACCESS_KEY',
      'S3_SECRET_KEY',
      'KAFKA_TOPIC_PREFIX',
    ])
      delete env[name];
    const started = Date.now();
    child = spawn(process.execPath, [join(ROOT, 'platform/start.ts')], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const banner = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not running within 60 s:\n${out}`)), 60_000);
      const check = () => {
        const url = /Parley is running: (\S+)/.exec(out)?.[1];
        const token = /Bearer <token>"\):\n(\S+)/.exec(out)?.[1];
        if (url && token) {
          clearTimeout(timer);
          resolve({ url, token });
        }
      };
      child!.stdout!.on('data', check);
      child!.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
    });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(out).toContain('embedded PGlite');
    expect(out).toContain('event log in Postgres');
    const health = await fetch(banner.url.replace('/graphql', '/healthz'));
    expect(health.status).toBe(200);

    const post = async (query: string, variables: Record<string, unknown> = {}) =>
      (await (
        await fetch(banner.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${banner.token}` },
          body: JSON.stringify({ query, variables }),
        })
      ).json()) as { data: Record<string, { id: string }> };
    const sessionId = (await post('mutation { createSession(input: { title: "first look" }) { id } }')).data
      .createSession!.id;

    const ws = createClient({
      url: banner.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${banner.token}` },
      retryAttempts: 0,
    });
    const update = new Promise<unknown>((resolve, reject) => {
      ws.subscribe(
        {
          query: 'subscription ($id: ID) { sessionUpdated(id: $id) { stats { messageCount } } }',
          variables: { id: sessionId },
        },
        {
          next: (v) =>
            (v.data as { sessionUpdated: { stats: { messageCount: number } } }).sessionUpdated.stats
              .messageCount === 1 && resolve(v.data),
          error: reject,
          complete: () => undefined,
        },
      );
    });
    // The subscription is registered on the server a moment after it is sent.
    await new Promise((r) => setTimeout(r, 1000));
    await post(
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "hello" }) { id } }',
      { s: sessionId },
    );
    expect(await update).toEqual({ sessionUpdated: { stats: { messageCount: 1 } } });
    await ws.dispose();

    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    child = undefined;
  }, 120_000);
});
