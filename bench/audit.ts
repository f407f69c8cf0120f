import pg from 'pg';
import { machine, percentile, startBenchStack } from './support.ts';
import { GENESIS_HASH, chainHash } from '../subgraphs/audit/chain.ts';

/**
 * `npm run bench:audit`: admin search latency through the router over BENCH_AUDIT_RECORDS
 * (default 1,000,000) audit records. The records are bulk-inserted with SQL (realistic
 * spread: 2,000 actors, 12 actions, 89 days in position order so the 90-day purge takes none,
 * 1 % denied). Each query
 * shape runs BENCH_REQUESTS times with BENCH_CONCURRENCY in flight; target p95 <= 100 ms.
 * Then the hashes are made a valid chain and verifyAuditTrail checks them all
 * (BENCH_VERIFY=0 skips that stage).
 */
const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const VERIFY = process.env.BENCH_VERIFY !== '0';

const stack = await startBenchStack('audit');
const sql = new pg.Client({ connectionString: stack.databaseUrl });
await sql.connect();
const lines: string[] = [`machine: ${machine()}; Postgres on the same box; whole stack in one Node process`];

try {
  const seedStart = Date.now();
  // Positions continue after the records the stack itself has written (its setup's events).
  const base = Number(
    (await sql.query<{ n: string }>('select coalesce(max(position), 0)::text as n from audit.records'))
      .rows[0]!.n,
  );
  for (let from = 1; from <= RECORDS; from += 100_000) {
    const to = Math.min(RECORDS, from + 99_999);
    await sql.query(
      `insert into audit.records (id, event_id, occurred_at, actor_id, action, entity_type, entity_id, outcome,
         data, actor_kind, ip, user_agent, request_id, position, prev_hash, hash)
       select gen_random_uuid(), gen_random_uuid(),
         now() - interval '89 days' + (i::float8 / $3) * interval '89 days',
         'user-' || (i % 2000),
         (array['session.created','session.renamed','message.added','task.created','task.completed',
                'task.updated','task.deleted','session.archived','session.deleted','attachment.ready',
                'security.access-denied','security.auth-failed'])[1 + (i % 12)],
         (array['session','session','message','task','task','task','task','session','session','attachment',
                'task','credential'])[1 + (i % 12)],
         md5(i::text),
         case when i % 100 = 0 then 'denied' when i % 97 = 0 then 'failure' else 'success' end,
         jsonb_build_object('title', 'topic ' || (i % 5000) || ' ' || md5((i * 7)::text)),
         'jwt', '10.0.' || (i % 250) || '.' || (i % 200), 'bench-agent', md5((i * 3)::text),
         $4::bigint + i, md5((i - 1)::text), md5(i::text)
       from generate_series($1::bigint, $2::bigint) as i`,
      [from, to, RECORDS + 1, base],
    );
  }
  await sql.query(`update audit.chain_head set position = $1`, [base + RECORDS]);
  // Steady state of a live table: hint bits set and the visibility map current, as
  // autovacuum leaves it; otherwise the first reads after a bulk load pay for the writes.
  await sql.query('vacuum (analyze) audit.records');
  // Flush the load's dirty pages now, not during the first measured shape.
  await sql.query('checkpoint');
  lines.push(
    `seeded ${RECORDS.toLocaleString('en')} records in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`,
  );

  const admin = await stack.token('bench-auditor', ['admin']);
  const entity = (await sql.query<{ id: string }>('select md5(4242::text) as id')).rows[0]!.id;
  const recent = new Date(Date.now() - 7 * 24 * 3600_000).toISOString();
  const shapes: [string, string][] = [
    ['newest 50, no filter', '{ auditRecords(first: 50) { edges { node { id action } } } }'],
    ['by actor', '{ auditRecords(first: 50, filter: { actorId: "user-42" }) { edges { node { id } } } }'],
    [
      'by actor + total count',
      '{ auditRecords(first: 50, filter: { actorId: "user-42" }) { totalCount edges { node { id } } } }',
    ],
    [
      'action prefix task.*',
      '{ auditRecords(first: 50, filter: { action: "task.*" }) { edges { node { id } } } }',
    ],
    [
      'by entity id',
      `{ auditRecords(first: 50, filter: { entityId: "${entity}" }) { edges { node { id } } } }`,
    ],
    [
      'denied in the last 7 days',
      `{ auditRecords(first: 50, filter: { outcome: denied, from: "${recent}" }) { edges { node { id } } } }`,
    ],
    [
      'free text (one word)',
      '{ auditRecords(first: 50, filter: { text: "topic 4242" }) { edges { node { id } } } }',
    ],
    [
      'free text + actor',
      '{ auditRecords(first: 50, filter: { text: "task.created", actorId: "user-3" }) { edges { node { id } } } }',
    ],
    ['second page (cursor)', 'SECOND_PAGE'],
  ];
  const first = (await stack.gql(admin, '{ auditRecords(first: 50) { pageInfo { endCursor } } }')).data as {
    auditRecords: { pageInfo: { endCursor: string } };
  };
  const cursor = first.auditRecords.pageInfo.endCursor;
  lines.push(`queries: ${REQUESTS} each, ${CONCURRENCY} in flight, through the router (admin token)`);
  for (const [name, rawQuery] of shapes) {
    const query =
      rawQuery === 'SECOND_PAGE'
        ? `{ auditRecords(first: 50, after: "${cursor}") { edges { node { id } } } }`
        : rawQuery;
    for (let i = 0; i < 20; i += 1) {
      const warm = await stack.gql(admin, query);
      if (warm.errors) throw new Error(`${name}: ${JSON.stringify(warm.errors)}`);
    }
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          next += 1;
          const t0 = performance.now();
          const result = await stack.gql(admin, query);
          latencies.push(performance.now() - t0);
          if (result.errors) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const p95 = percentile(latencies, 95);
    lines.push(
      `${name.padEnd(28)} p50 ${percentile(latencies, 50).toFixed(1)} ms  p95 ${p95.toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  ${p95 <= 100 ? 'target met' : 'TARGET NOT MET'}`,
    );
  }
  if (VERIFY) {
    lines.push(await verifyWholeTrail(admin));
  }
} finally {
  await sql.end();
  await stack.stop();
}

/** Rewrites the seeded hashes into a valid chain, then times verifyAuditTrail over all of it. */
async function verifyWholeTrail(admin: string): Promise<string> {
  const chainStart = Date.now();
  let prev = GENESIS_HASH;
  let after = '0';
  for (;;) {
    const { rows } = await sql.query<{
      id: string;
      event_id: string;
      occurred_at: Date;
      actor_id: string;
      action: string;
      entity_type: string;
      entity_id: string;
      outcome: string;
      data: unknown;
      actor_kind: string;
      ip: string;
      user_agent: string;
      request_id: string;
      position: string;
    }>(
      `select id, event_id, occurred_at, actor_id, action, entity_type, entity_id, outcome, data, actor_kind, ip,
         user_agent, request_id, r.position::text from audit.records r where r.position > $1
       order by r.position limit 10000`,
      [after],
    );
    if (rows.length === 0) break;
    const positions: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const r of rows) {
      const hash = chainHash(prev, {
        id: r.id,
        eventId: r.event_id,
        occurredAt: r.occurred_at,
        actorId: r.actor_id,
        action: r.action,
        entityType: r.entity_type,
        entityId: r.entity_id,
        outcome: r.outcome,
        data: r.data,
        actorKind: r.actor_kind,
        ip: r.ip,
        userAgent: r.user_agent,
        requestId: r.request_id,
      });
      positions.push(r.position);
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
    }
    await sql.query(
      `update audit.records r set prev_hash = v.p, hash = v.h
       from unnest($1::bigint[], $2::text[], $3::text[]) as v(pos, p, h) where r.position = v.pos`,
      [positions, prevs, hashes],
    );
    after = rows.at(-1)!.position;
  }
  await sql.query('update audit.chain_head set hash = $1', [prev]);
  // Periodic digests signed meanwhile cover the seeded hashes, not the rewritten ones.
  await sql.query("delete from audit.digests where kind = 'periodic'");
  await sql.query('vacuum (analyze) audit.records');
  const chained = (Date.now() - chainStart) / 1000;

  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  const result = await stack.gql(
    admin,
    'query ($from: DateTime!, $to: DateTime!) { verifyAuditTrail(from: $from, to: $to) { intact checked reason } }',
    { from: new Date(Date.now() - 91 * 24 * 3600_000).toISOString(), to: new Date().toISOString() },
  );
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (result.errors) throw new Error(`verifyAuditTrail: ${JSON.stringify(result.errors)}`);
  const digests = await sql.query<{ kind: string; n: number }>(
    'select kind, count(*)::int as n from audit.digests group by kind',
  );
  const { intact, checked, reason } = (
    result.data as { verifyAuditTrail: { intact: boolean; checked: number; reason: string | null } }
  ).verifyAuditTrail;
  return (
    `verifyAuditTrail over the whole trail: ${intact ? 'intact' : `BROKEN (${reason})`}, ${checked.toLocaleString('en')} records ` +
    `in ${seconds.toFixed(1)} s (${Math.round(checked / seconds).toLocaleString('en')} records/s); ` +
    `process RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB ` +
    `(chain rewritten in ${chained.toFixed(0)} s first; digests ${JSON.stringify(digests.rows)})`
  );
}
console.log(lines.join('\n'));
