import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../platform/config.ts';
import { createDatabase } from '../platform/db/orm.ts';
import { createLogger } from '../platform/logger.ts';
import { startLocalObjectStore } from '../platform/embedded.ts';
import { parleyEnv, startParley, type Parley, type ParleyConfig } from '../platform/parley.ts';
import { issueDevToken } from '../platform/auth/authenticate.ts';
import { databaseOwners } from '../schema/owners.ts';

const ROOT = join(import.meta.dirname, '..');

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const machine = () =>
  `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;

export interface BenchStack {
  parley: Parley;
  config: ParleyConfig;
  databaseUrl: string;
  token(user: string, scopes?: string[]): Promise<string>;
  gql(
    token: string,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;
  stop(): Promise<void>;
}

/** The whole stack on the real Postgres, a real Kafka broker and an S3 server, in a fresh database. */
export async function startBenchStack(name: string): Promise<BenchStack> {
  const env = process.env;
  const logger = createLogger({ service: `bench-${name}`, level: env.LOG_LEVEL ?? 'error' });
  const runDir = join(ROOT, '.test-run', `bench-${name}`);
  mkdirSync(runDir, { recursive: true });
  let stopBroker: (() => void) | undefined;
  let brokers = env.KAFKA_BROKERS;
  if (!brokers) {
    // A random port pair: other benchmarks or test runs may have a broker up on this machine.
    const port = 30000 + 2 * Math.floor(Math.random() * 4000);
    const broker = join(ROOT, 'test/infra/kafka/broker.sh');
    execFileSync(broker, ['start', String(port), join(runDir, 'kafka')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    brokers = `127.0.0.1:${port}`;
    stopBroker = () => execFileSync(broker, ['stop', join(runDir, 'kafka')], { stdio: 'ignore' });
  }
  const admin = new URL(env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const dbName = `parley_bench_${name}_${Date.now()}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`create database "${dbName}"`);
  await client.end();
  admin.pathname = `/${dbName}`;
  const databaseUrl = admin.toString();
  for (const owner of databaseOwners) {
    const db = await createDatabase({ url: databaseUrl, logger, poolSize: 1, ...owner });
    await db.migrate();
    await db.close();
  }
  const objects = await startLocalObjectStore(join(runDir, 's3'), logger);
  const config = loadConfig(parleyEnv, {
    ...env,
    PARLEY_ENV: 'test',
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC_PREFIX: `bench${Date.now()}.`,
    ROUTER_PORT: '0',
    SESSIONS_PORT: '0',
    TASKS_PORT: '0',
    AUDIT_PORT: '0',
    PROCESSORS_PORT: '0',
    LOG_LEVEL: env.LOG_LEVEL ?? 'error',
  });
  const parley = await startParley({
    config,
    logger,
    databaseUrl,
    groupPrefix: config.KAFKA_TOPIC_PREFIX,
    objectStore: {
      endpoint: objects.endpoint,
      accessKey: objects.accessKey,
      secretKey: objects.secretKey,
      bucket: 'bench',
      region: config.S3_REGION,
    },
  });
  return {
    parley,
    config,
    databaseUrl,
    token: (user, scopes = []) => issueDevToken(config.JWT_SECRET, user, scopes),
    async gql(token, query, variables = {}) {
      const response = await fetch(parley.routerUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
    },
    async stop() {
      await parley.stop();
      await objects.stop();
      stopBroker?.();
      const c = new pg.Client({
        connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      });
      await c.connect();
      await c.query(`drop database if exists "${dbName}" with (force)`);
      await c.end();
    },
  };
}
