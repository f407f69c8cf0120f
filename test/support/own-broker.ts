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

/**
 * A port whose next `span - 1` ports are free too (client, controller, internal listener),
 * below the kernel's ephemeral range (32768+): a broker that is stopped and restarted must
 * find its ports still free, and an ephemeral port can be taken meanwhile by any outgoing
 * connection (a CI run once lost its controller port that way).
 */
async function freePorts(span: number): Promise<number> {
  for (;;) {
    const port = 20000 + span * Math.floor(Math.random() * Math.floor(12000 / span));
    const free = await Promise.all(Array.from({ length: span }, (_, i) => portFree(port + i)));
    if (free.every(Boolean)) return port;
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
    /** At the end of the file: the data is thrown away, so no clean shutdown is waited for. */
    dispose: () => run('kill', dir),
  };
}
