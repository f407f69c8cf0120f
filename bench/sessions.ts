import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { LoadJob } from './load-worker.ts';
import { machine, percentile, startBenchStack } from './support.ts';
import { searchAll } from '../subgraphs/sessions/search.ts';
import { messagesPage } from '../subgraphs/sessions/messages-resolvers.ts';
import { seedMessages } from './sessions-seed.ts';

/**
 * `npm run bench:sessions`: message pages (50) and full-text search through the router with
 * 1,000,000 messages in the database, bulk-inserted with generate_series (not the API).
 * Targets (issue #4): page ≥ 1,000 requests/s with p95 ≤ 50 ms; search p95 ≤ 50 ms.
 */
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const USERS = Number(process.env.BENCH_USERS ?? 100);
const SESSIONS_PER_USER = Number(process.env.BENCH_SESSIONS_PER_USER ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SEARCH_CONCURRENCY = Number(process.env.BENCH_SEARCH_CONCURRENCY ?? 8);
const LIGHT = Number(process.env.BENCH_LIGHT_CONCURRENCY ?? 2);

const SEARCHES = [
  'kafka',
  'postgres or graphql',
  'latency -kafka',
  '"notes on vector"',
  'compaction',
  'replica',
];

const stack = await startBenchStack('sessions');
const sql = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
const lines: string[] = [`machine: ${machine()}; Postgres and Kafka on the same box`];

/** Closed-loop load from a worker thread (bench/load-worker.ts); prints throughput and latency. */
async function run(name: string, job: Omit<LoadJob, 'url' | 'token' | 'seconds'>, token: string) {
  const cpu0 = process.threadCpuUsage();
  const worker = new Worker(new URL('./load-worker.ts', import.meta.url), {
    workerData: { ...job, url: stack.parley.routerUrl, token, seconds: SECONDS } satisfies LoadJob,
  });
  const result = await new Promise<{ latencies: number[]; failures: number; seconds: number }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  const cpu = process.threadCpuUsage(cpu0);
  await worker.terminate();
  const latencies = result.latencies.sort((a, b) => a - b);
  const rps = latencies.length / result.seconds;
  const p95 = percentile(latencies, 95);
  lines.push(
    `${name}: ${latencies.length} requests in ${result.seconds.toFixed(1)} s at concurrency ${job.concurrency} = ${rps.toFixed(0)} req/s, ${result.failures} failed; p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; Parley's event loop CPU ${((cpu.user + cpu.system) / 1000 / latencies.length).toFixed(2)} ms per request`,
  );
  return { rps, p95 };
}

try {
  const { perSession, line } = await seedMessages(sql, {
    messages: MESSAGES,
    users: USERS,
    sessionsPerUser: SESSIONS_PER_USER,
  });
  lines.push(line);
  const user = 'bench-user-0';
  const token = await stack.token(user);
  const ownSessions = (
    await sql.query<{ id: string }>('select id from sessions.sessions where owner_id = $1', [user])
  ).rows.map((r) => r.id);
  if (process.env.BENCH_EXPLAIN) {
    // Plans of the two hot statements, for tuning (stderr).
    const sid = ownSessions[0]!;
    for (const q of [
      `explain (analyze, buffers) select m0.* from sessions.messages as m0 where m0.session_id = '${sid}' and m0.seq > 500 order by m0.seq asc limit 51`,
      `explain (analyze, buffers) select m.id, ts_rank(m.search_tsv, q) from sessions.messages m, websearch_to_tsquery('english', 'kafka') q where m.owner_id = '${user}' and m.search_tsv @@ q order by 2 desc limit 21`,
    ])
      process.stderr.write(
        (await sql.query<{ 'QUERY PLAN': string }>(q)).rows.map((r) => r['QUERY PLAN']).join('\n') + '\n\n',
      );
  }
  // Each search query straight on the subgraph's database code (no router, no HTTP): hits and time.
  const db = stack.parley.subgraphs.sessions.db;
  for (const q of SEARCHES) {
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < 5; i += 1) {
      const t = performance.now();
      hits = (await searchAll(db.fork(), user, q, {}, 20, null)).edges.length;
      times.push(performance.now() - t);
    }
    lines.push(
      `  search "${q}" in the subgraph code: ${hits} hits, best of 5 ${Math.min(...times).toFixed(1)} ms`,
    );
  }
  const cursor = (seq: number) => Buffer.from(`m|${seq}`).toString('base64url');
  {
    const times: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const t = performance.now();
      await messagesPage(db.fork(), ownSessions[i % ownSessions.length]!, {
        first: 50,
        after: cursor(i * 40),
      });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    lines.push(`  messages page in the subgraph code: median of 20 ${percentile(times, 50).toFixed(2)} ms`);
  }
  const PAGE = `query ($id: ID!, $after: String) { session(id: $id) { messages(first: 50, after: $after) {
    edges { cursor node { id role content createdAt position } } pageInfo { hasNextPage endCursor } } } }`;
  const pageBodies = Array.from({ length: 2000 }, (_, i) =>
    JSON.stringify({
      query: PAGE,
      variables: { id: ownSessions[i % ownSessions.length], after: cursor((i * 37) % (perSession - 50)) },
    }),
  );
  // Warm-up: query plans, connections, JIT.
  for (const body of pageBodies.slice(0, 200)) {
    const r = await stack.gql(
      token,
      PAGE,
      (JSON.parse(body) as { variables: Record<string, unknown> }).variables,
    );
    if (r.errors) throw new Error(`page failed: ${JSON.stringify(r.errors)}`);
  }
  const page = await run(
    'messages page (first: 50)',
    { bodies: pageBodies, concurrency: CONCURRENCY, expect: '"position"', times: 50 },
    token,
  );
  // The same at low concurrency: latency when the event loop is not saturated.
  const pageLight = await run(
    'messages page (first: 50)',
    { bodies: pageBodies, concurrency: LIGHT, expect: '"position"', times: 50 },
    token,
  );
  const SEARCH = `query ($q: String!) { search(query: $q, first: 20) { edges { node { kind rank snippet message { id } session { id } } } } }`;
  const searchBodies = SEARCHES.map((q) => JSON.stringify({ query: SEARCH, variables: { q } }));
  for (let i = 0; i < 30; i += 1) await stack.gql(token, SEARCH, { q: SEARCHES[i % SEARCHES.length] });
  const search = await run(
    `search (20 hits with snippets, over the user's ${(MESSAGES / USERS).toLocaleString('en')} of ${MESSAGES.toLocaleString('en')} messages)`,
    { bodies: searchBodies, concurrency: SEARCH_CONCURRENCY, expect: '"kind"', times: 1 },
    token,
  );
  const searchLight = await run(
    'search',
    { bodies: searchBodies, concurrency: LIGHT, expect: '"kind"', times: 1 },
    token,
  );
  lines.push(
    `targets: page ≥ 1000 req/s with p95 ≤ 50 ms: ${[page, pageLight].some((r) => r.rps >= 1000 && r.p95 <= 50) ? 'met' : 'NOT met'}; page p95 ≤ 50 ms at concurrency ${LIGHT}: ${pageLight.p95 <= 50 ? 'met' : 'NOT met'}; search p95 ≤ 50 ms: at concurrency ${SEARCH_CONCURRENCY} ${search.p95 <= 50 ? 'met' : 'NOT met'}, at concurrency ${LIGHT} ${searchLight.p95 <= 50 ? 'met' : 'NOT met'}`,
  );
} finally {
  process.stdout.write(lines.join('\n') + '\n');
  await sql.end();
  await stack.stop();
}
