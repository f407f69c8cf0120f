import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { newEvent } from '../platform/events/envelope.ts';
import { machine, percentile, startBenchStack } from './support.ts';

/**
 * `npm run bench:events`: the real stack (router → subgraph → outbox → Kafka →
 * processors) on this machine. Prints
 *   1. mutations through the router at a fixed rate, and commit → effect latency
 *      (audit record stored − event time) p50/p99/p99.9;
 *   2. sustained backbone throughput: a burst of committed outbox rows until every
 *      audit record is written;
 *   3. what the outbox adds to a mutation's transaction (p50/p99).
 */
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BURST = Number(process.env.BENCH_BURST ?? 20000);
const USERS = 50;

const stack = await startBenchStack('events');
const sql = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
const count = async (q: string) => Number((await sql.query<{ n: string }>(q)).rows[0]?.n ?? 0);
const lines: string[] = [`machine: ${machine()}; Postgres and Kafka on the same box`];

try {
  // --- 1. fixed-rate mutations through the router ---
  const tokens = await Promise.all(Array.from({ length: USERS }, (_, i) => stack.token(`bench-user-${i}`)));
  const sessions: string[] = [];
  for (const token of tokens) {
    const r = await stack.gql(token, 'mutation { createSession(input: { title: "bench" }) { id } }');
    sessions.push((r.data as { createSession: { id: string } }).createSession.id);
  }
  // The setup sessions' own audit records are counted before the baseline is taken.
  while (
    (await count(`select count(*)::text as n from audit.records where action = 'session.created'`)) < USERS
  )
    await new Promise((r) => setTimeout(r, 100));
  const baseline = await count('select count(*)::text as n from audit.records');
  const mutationMs: number[] = [];
  let failures = 0;
  const total = RATE * SECONDS;
  const started = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const u = i % USERS;
    const t0 = performance.now();
    const p = stack
      .gql(
        tokens[u]!,
        'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "bench message" }) { id } }',
        { s: sessions[u] },
      )
      .then((r) => {
        if (r.errors) failures += 1;
        mutationMs.push(performance.now() - t0);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size > 256) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const offeredSeconds = (performance.now() - started) / 1000;
  const expected = baseline + total;
  const deadline = Date.now() + 120_000;
  while ((await count('select count(*)::text as n from audit.records')) < expected && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 250));
  const delays = (
    await sql.query<{ ms: number }>(
      `select extract(epoch from recorded_at - occurred_at) * 1000 as ms from audit.records where action = 'message.added' order by 1`,
    )
  ).rows.map((r) => Number(r.ms));
  mutationMs.sort((a, b) => a - b);
  lines.push(
    `router mutations: offered ${RATE}/s for ${SECONDS} s → achieved ${(total / offeredSeconds).toFixed(0)}/s, ${failures} failed; mutation latency p50 ${percentile(mutationMs, 50).toFixed(1)} ms, p99 ${percentile(mutationMs, 99).toFixed(1)} ms`,
    `commit → effect (audit record stored): n=${delays.length}, p50 ${percentile(delays, 50).toFixed(0)} ms, p99 ${percentile(delays, 99).toFixed(0)} ms, p99.9 ${percentile(delays, 99.9).toFixed(0)} ms, within 5 s: ${((delays.filter((d) => d <= 5000).length / Math.max(delays.length, 1)) * 100).toFixed(2)} %`,
  );

  // --- 1b. commit → effect at a paced 1,000 events/s (single-event commits, as mutations make) ---
  const pacedRate = Number(process.env.BENCH_PACED_RATE ?? 1000);
  const pacedTotal = pacedRate * SECONDS;
  const pacedBefore = await count(
    `select count(*)::text as n from audit.records where action = 'task.created'`,
  );
  const pacedStart = performance.now();
  const writers = new Set<Promise<unknown>>();
  for (let i = 0; i < pacedTotal; i += 1) {
    const wait = pacedStart + (i * 1000) / pacedRate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const e = newEvent({
      type: 'task.created',
      source: 'bench',
      subject: `p${i}`,
      userId: `bench-user-${i % USERS}`,
      data: { taskId: `p${i}`, title: 'paced', sessionId: null },
    });
    const w = sql
      .query(
        `insert into tasks.outbox (event_id, topic, key, payload, headers) values ($1, 'task-events', $2, $3, $4)`,
        [e.id, e.userId, JSON.stringify(e), JSON.stringify({ ce_type: e.type, ce_id: e.id })],
      )
      .then(() => stack.parley.subgraphs.tasks.relay.wake())
      .finally(() => writers.delete(w));
    writers.add(w);
    if (writers.size >= 4) await Promise.race(writers);
  }
  await Promise.all(writers);
  const pacedAchieved = pacedTotal / ((performance.now() - pacedStart) / 1000);
  const pacedDeadline = Date.now() + 120_000;
  while (
    (await count(`select count(*)::text as n from audit.records where action = 'task.created'`)) <
      pacedBefore + pacedTotal &&
    Date.now() < pacedDeadline
  )
    await new Promise((r) => setTimeout(r, 200));
  const paced = (
    await sql.query<{ ms: number }>(
      `select extract(epoch from recorded_at - occurred_at) * 1000 as ms from audit.records where action = 'task.created' order by 1`,
    )
  ).rows.map((r) => Number(r.ms));
  lines.push(
    `commit → effect at ${pacedAchieved.toFixed(0)} events/s (paced outbox commits): n=${paced.length}, p50 ${percentile(paced, 50).toFixed(0)} ms, p99 ${percentile(paced, 99).toFixed(0)} ms, p99.9 ${percentile(paced, 99.9).toFixed(0)} ms, within 5 s: ${((paced.filter((d) => d <= 5000).length / Math.max(paced.length, 1)) * 100).toFixed(2)} %`,
  );

  // --- 2. sustained backbone throughput: relay → Kafka → audit writer ---
  const before = await count('select count(*)::text as n from audit.records');
  const burst = Array.from({ length: BURST }, (_, i) => {
    const e = newEvent({
      type: 'task.completed',
      source: 'bench',
      subject: `t${i}`,
      userId: `bench-user-${i % USERS}`,
      data: { taskId: `t${i}` },
    });
    return {
      id: e.id,
      key: e.userId,
      payload: JSON.stringify(e),
      headers: JSON.stringify({ ce_type: e.type, ce_id: e.id }),
    };
  });
  const t1 = performance.now();
  for (let i = 0; i < burst.length; i += 5000) {
    const slice = burst.slice(i, i + 5000);
    await sql.query(
      `insert into tasks.outbox (event_id, topic, key, payload, headers)
       select x.id::uuid, 'task-events', x.key, x.payload, x.headers::jsonb from jsonb_to_recordset($1::jsonb) as x(id text, key text, payload text, headers text)`,
      [JSON.stringify(slice)],
    );
  }
  stack.parley.subgraphs.tasks.relay.wake();
  const burstDeadline = Date.now() + 300_000;
  while (
    (await count('select count(*)::text as n from audit.records')) < before + BURST &&
    Date.now() < burstDeadline
  )
    await new Promise((r) => setTimeout(r, 200));
  const burstSeconds = (performance.now() - t1) / 1000;
  const done = (await count('select count(*)::text as n from audit.records')) - before;
  lines.push(
    `backbone: ${done}/${BURST} events committed to the outbox → Kafka → audit writer in ${burstSeconds.toFixed(1)} s = ${(done / burstSeconds).toFixed(0)} events/s sustained`,
  );

  // --- 3. the outbox's cost inside a mutation's transaction ---
  const client = await sql.connect();
  const timeTx = async (withOutbox: boolean) => {
    const out: number[] = [];
    for (let i = 0; i < 400; i += 1) {
      const sessionId = randomUUID();
      const e = newEvent({
        type: 'session.created',
        source: 'bench',
        subject: sessionId,
        userId: 'bench-outbox',
        data: { sessionId, title: 't' },
      });
      const t = performance.now();
      await client.query('begin');
      await client.query(
        `insert into sessions.sessions (id, owner_id, title, created_at, updated_at) values (gen_random_uuid(), 'bench-outbox', 't', now(), now())`,
      );
      if (withOutbox)
        await client.query(
          `insert into sessions.outbox (event_id, topic, key, payload, headers) values ($1, 'session-events', $2, $3, '{}')`,
          [e.id, e.userId, JSON.stringify(e)],
        );
      await client.query('commit');
      // As a mutation does: the relay is woken at commit and publishes in the background.
      if (withOutbox) stack.parley.subgraphs.sessions.relay.wake();
      out.push(performance.now() - t);
    }
    return out;
  };
  // Alternating rounds so background work weighs on both variants alike.
  const without: number[] = [];
  const withOutbox: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    without.push(...(await timeTx(false)));
    withOutbox.push(...(await timeTx(true)));
  }
  without.sort((a, b) => a - b);
  withOutbox.sort((a, b) => a - b);

  client.release();
  lines.push(
    `outbox cost per mutation transaction: without p50 ${percentile(without, 50).toFixed(2)} / p99 ${percentile(without, 99).toFixed(2)} ms; with p50 ${percentile(withOutbox, 50).toFixed(2)} / p99 ${percentile(withOutbox, 99).toFixed(2)} ms; added p99 ${(percentile(withOutbox, 99) - percentile(without, 99)).toFixed(2)} ms`,
  );
} finally {
  await sql.end();
  await stack.stop();
}
console.log(`\nbench:events\n${lines.map((l) => `  ${l}`).join('\n')}`);
process.exit(0);
