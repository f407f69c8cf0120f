import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, RUN_DIR } from './env.ts';

const script = join(ROOT, 'test/infra/kafka/broker.sh');

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A port whose next `span - 1` ports are free too (client, controller, internal listener). */
async function freePorts(span: number): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const rest = await Promise.all(Array.from({ length: span - 1 }, (_, i) => portFree(port + i + 1)));
    if (rest.every(Boolean)) return port;
  }
}

/** A broker of one test file's own, for tests that stop it or configure it differently. */
export async function startOwnBroker(env: Record<string, string> = {}) {
  const port = await freePorts(3);
  const dir = mkdtempSync(join(RUN_DIR, 'own-kafka-'));
  const run = (...args: string[]) =>
    execFileSync(script, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  run('start', String(port), dir);
  return {
    brokers: `127.0.0.1:${port}`,
    stop: () => run('stop', dir),
    restart: () => run('restart', String(port), dir),
  };
}
