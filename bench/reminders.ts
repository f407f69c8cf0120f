import pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { machine, percentile, startBenchStack } from './support.ts';

/**
 * `npm run bench:reminders`: BENCH_REMINDERS reminders (default 100,000; one task each, seeded
 * with SQL) fall due evenly over BENCH_SPREAD_SECONDS (default 120 s) on the real stack
 * (scheduler: reminder fired + notification stored in one transaction → tasks outbox → relay →
 * Kafka → router → graphql-ws). After a warm-up, prints
 *   1. lateness: fired_at − remind_at over every reminder (p50/p99/max), and the firing span;
 *   2. fired → notification stored, inside the firing transaction;
 *   3. delivery: a connected subscriber's receive time − fired_at, for BENCH_SUBSCRIBERS users
 *      (default 10 of 1,000 users, so about 1 % of the reminders), p50/p99/max, and the slowest.
 */
const N = Number(process.env.BENCH_REMINDERS ?? 100_000);
const SPREAD_S = Number(process.env.BENCH_SPREAD_SECONDS ?? 120);
const USERS = 1000;
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10);
const LEAD_S = 20;
/** Restricts a query over reminders `r` to the measured ones (not the warm-up). */
const SEEDED = "join tasks.tasks seeded on seeded.id = r.task_id where seeded.title like 'bench reminder %'";

const stack = await startBenchStack('reminders');
const sql = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
const lines: string[] = [
  `machine: ${machine()}; Postgres and Kafka on the same box`,
  `reminders: ${N} due over ${SPREAD_S} s (${(N / SPREAD_S).toFixed(0)}/s), ${USERS} users, ${SUBSCRIBERS} subscribed`,
];
const clients: Client[] = [];
const received = new Map<string, number>();

try {
  // --- subscribers: one graphql-ws connection per subscribed user ---
  for (let u = 0; u < SUBSCRIBERS; u += 1) {
    const token = await stack.token(`bench-u-${u}`);
    const client = createClient({
      url: stack.parley.routerUrl.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    client.subscribe(
      { query: 'subscription { notificationAdded { id task { id } } }' },
      {
        next: (value) => {
          const n = (value.data as { notificationAdded?: { task: { id: string } | null } } | undefined)
            ?.notificationAdded;
          if (n?.task) received.set(n.task.id, Date.now());
        },
        error: (error) => console.error('subscription failed', error),
        complete: () => undefined,
      },
    );
  }
  while (stack.parley.router.engine.listenerCount() < SUBSCRIBERS)
    await new Promise((r) => setTimeout(r, 50));

  // --- warm-up (not measured): one reminder per subscriber, so topics, producers and the
  // router's consumer are past their first fetch before the measured ones fall due ---
  await sql.query(
    `with t as (insert into tasks.tasks (id, owner_id, title, created_at)
                select gen_random_uuid(), 'bench-u-' || u, 'warm-up', now() from generate_series(0, $1 - 1) u
                returning id, owner_id)
     insert into tasks.reminders (id, task_id, owner_id, remind_at) select gen_random_uuid(), id, owner_id, now() from t`,
    [SUBSCRIBERS],
  );
  const warmUntil = Date.now() + 60_000;
  while (received.size < SUBSCRIBERS && Date.now() < warmUntil) await new Promise((r) => setTimeout(r, 100));
  lines.push(`warm-up: ${received.size}/${SUBSCRIBERS} subscribers reached`);
  received.clear();

  // --- seed: one task and one reminder per row, due evenly from LEAD_S seconds on ---
  const seedStarted = performance.now();
  const start = Date.now() + LEAD_S * 1000;
  await sql.query(
    `insert into tasks.tasks (id, owner_id, title, created_at)
     select gen_random_uuid(), 'bench-u-' || (i % ${USERS}), 'bench reminder ' || i, now()
       from generate_series(0, $1 - 1) i`,
    [N],
  );
  await sql.query(
    `insert into tasks.reminders (id, task_id, owner_id, remind_at)
     select gen_random_uuid(), t.id, t.owner_id,
            to_timestamp(($1::float8 + (substring(t.title from 16)::int) * $2::float8) / 1000.0)
       from tasks.tasks t where t.title like 'bench reminder %'`,
    [start, (SPREAD_S * 1000) / N],
  );
  // As after any bulk load: fresh statistics now, not an auto-analyze while the reminders fire.
  await sql.query('vacuum analyze tasks.tasks, tasks.reminders');
  lines.push(`seeded (and analyzed) in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
  const expectedDeliveries = Number(
    (
      await sql.query<{ n: string }>(
        `select count(*)::text as n from tasks.reminders r join tasks.tasks t on t.id = r.task_id
          where r.owner_id = any($1::text[]) and t.title like 'bench reminder %'`,
        [Array.from({ length: SUBSCRIBERS }, (_, u) => `bench-u-${u}`)],
      )
    ).rows[0]?.n,
  );

  // --- wait until every reminder fired and every subscriber got its notifications ---
  const deadline = start + SPREAD_S * 1000 + 90_000;
  const firedCount = async () =>
    Number(
      (
        await sql.query<{ n: string }>(
          `select count(*)::text as n from tasks.reminders r ${SEEDED} and fired_at is not null`,
        )
      ).rows[0]?.n,
    );
  let fired = 0;
  while (Date.now() < deadline) {
    fired = await firedCount();
    if (fired >= N && received.size >= expectedDeliveries) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const lateness = (
    await sql.query<{ ms: number }>(
      `select (extract(epoch from fired_at - remind_at) * 1000)::float8 as ms from tasks.reminders r ${SEEDED} and fired_at is not null order by 1`,
    )
  ).rows.map((r) => r.ms);
  const span = (
    await sql.query<{ s: number }>(
      `select extract(epoch from max(fired_at) - min(fired_at))::float8 as s from tasks.reminders r ${SEEDED}`,
    )
  ).rows[0]?.s;
  const firedAt = new Map(
    (
      await sql.query<{ task_id: string; ms: number }>(
        `select task_id::text, (extract(epoch from fired_at) * 1000)::float8 as ms
           from tasks.reminders where owner_id = any($1::text[]) and fired_at is not null`,
        [Array.from({ length: SUBSCRIBERS }, (_, u) => `bench-u-${u}`)],
      )
    ).rows.map((r) => [r.task_id, r.ms]),
  );
  const deliveries = [...received.entries()]
    .map(([taskId, at]) => ({ firedAt: firedAt.get(taskId) ?? NaN, ms: at - (firedAt.get(taskId) ?? NaN) }))
    .filter((d) => !Number.isNaN(d.ms));
  const delivery = deliveries.map((d) => d.ms).sort((a, b) => a - b);
  // When the slow ones happened (seconds after the first due time): a warm-up or a stall shows here.
  const slowest = [...deliveries]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .map((d) => `${d.ms.toFixed(0)} ms at +${((d.firedAt - start) / 1000).toFixed(1)} s`);
  // The burst that starts after the idle lead-in is reported apart from the steady state.
  const steady = deliveries
    .filter((d) => d.firedAt - start >= 5000)
    .map((d) => d.ms)
    .sort((a, b) => a - b);
  // Where the delivery time goes: fired → notification stored (both in the firing transaction).
  const stored = (
    await sql.query<{ ms: number }>(
      `select (extract(epoch from n.created_at - r.fired_at) * 1000)::float8 as ms
         from tasks.notifications n join tasks.reminders r on r.task_id = n.task_id ${SEEDED} order by 1`,
    )
  ).rows.map((r) => r.ms);
  const late = lateness.filter((ms) => ms > 5000).length;
  lines.push(
    `fired ${fired}/${N} over ${span?.toFixed(1)} s; lateness (fired_at − remind_at) p50 ${percentile(lateness, 50).toFixed(0)} ms, p99 ${percentile(lateness, 99).toFixed(0)} ms, max ${(lateness.at(-1) ?? NaN).toFixed(0)} ms; marked late (> 5 s): ${late}`,
    `fired → notification stored: n=${stored.length}, p50 ${percentile(stored, 50).toFixed(0)} ms, p99 ${percentile(stored, 99).toFixed(0)} ms`,
    `delivery to a connected subscriber (received − fired_at): n=${delivery.length}/${expectedDeliveries}, p50 ${percentile(delivery, 50).toFixed(0)} ms, p99 ${percentile(delivery, 99).toFixed(0)} ms, max ${(delivery.at(-1) ?? NaN).toFixed(0)} ms`,
    `slowest deliveries: ${slowest.join(', ')}`,
    `deliveries over 1 s: ${delivery.filter((ms) => ms > 1000).length}; after the first 5 s of firing (steady state): n=${steady.length}, p50 ${percentile(steady, 50).toFixed(0)} ms, p99 ${percentile(steady, 99).toFixed(0)} ms, max ${(steady.at(-1) ?? NaN).toFixed(0)} ms`,
  );
} finally {
  for (const line of lines) console.log(line);
  await Promise.all(clients.map((c) => Promise.resolve(c.dispose())));
  await sql.end();
  await stack.stop();
}
