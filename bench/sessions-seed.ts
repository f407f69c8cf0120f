import type pg from 'pg';

const WORDS = [
  'kafka',
  'postgres',
  'graphql',
  'router',
  'partition',
  'consumer',
  'latency',
  'index',
  'vector',
  'session',
  'message',
  'search',
  'cursor',
  'deploy',
  'cluster',
  'replica',
  'schema',
  'token',
  'audit',
  'retention',
  'backup',
  'network',
  'memory',
  'thread',
  'cache',
  'queue',
  'stream',
  'batch',
  'commit',
  'rollback',
  'timeout',
  'metric',
  'alert',
  'gateway',
  'subgraph',
  'tenant',
  'shard',
  'snapshot',
  'compaction',
  'throughput',
];

/** Bulk-loads sessions and messages with generate_series (not the API), then rebuilds the indexes. */
export async function seedMessages(
  sql: pg.Pool,
  options: { messages: number; users: number; sessionsPerUser: number },
) {
  const MESSAGES = options.messages;
  const USERS = options.users;
  const SESSIONS_PER_USER = options.sessionsPerUser;
  const t0 = performance.now();
  const sessions = USERS * SESSIONS_PER_USER;
  const perSession = Math.ceil(MESSAGES / sessions);
  await sql.query(`insert into sessions.sessions (id, owner_id, title, created_at, updated_at, message_seq, tags)
    select ('00000000-0000-4000-8000-' || lpad(to_hex(s), 12, '0'))::uuid, 'bench-user-' || (s % ${USERS}),
           'Bench session ' || s || ' on ' || (array['${WORDS.join("','")}'])[1 + s % ${WORDS.length}],
           now() - interval '30 days', now(), ${perSession}, '{bench}'
      from generate_series(0, ${sessions - 1}) s`);
  // The indexes are rebuilt after the bulk load, which is far faster than maintaining them row by row.
  const indexes = [
    'messages_search_tsv',
    'messages_owner_search',
    'messages_owner_created',
    'messages_session_created',
  ];
  const defs = await sql.query<{ indexdef: string }>(
    `select indexdef from pg_indexes where schemaname = 'sessions' and indexname = any($1)`,
    [indexes],
  );
  for (const name of indexes) await sql.query(`drop index if exists sessions.${name}`);
  const words = `(array['${WORDS.join("','")}'])`;
  // Parallel slices so both cores work on the to_tsvector of the generated column.
  const slices = 4;
  const perSlice = Math.ceil(sessions / slices);
  await Promise.all(
    Array.from({ length: slices }, (_, k) =>
      sql.query(`insert into sessions.messages (id, session_id, owner_id, role, content, created_at, seq)
        select gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(s), 12, '0'))::uuid,
               'bench-user-' || (s % ${USERS}),
               (array['user','assistant'])[1 + n % 2],
               'Message ' || n || ' about ' || ${words}[1 + (n * 7 + s) % ${WORDS.length}] || ' and '
                 || ${words}[1 + (n * 13 + s * 3) % ${WORDS.length}] || ', with notes on '
                 || ${words}[1 + (n * 17 + s * 5) % ${WORDS.length}] || ' ' || md5((s * 100000 + n)::text),
               now() - interval '30 days' + n * interval '1 second', n
          from generate_series(${k * perSlice}, ${Math.min(sessions, (k + 1) * perSlice) - 1}) s,
               generate_series(1, ${perSession}) n`),
    ),
  );
  for (const { indexdef } of defs.rows) await sql.query(indexdef);
  await sql.query(`insert into sessions.session_stats (session_id, owner_id, message_count, last_activity_at, last_message_preview)
    select id, owner_id, message_seq, now(), 'bench' from sessions.sessions`);
  // Sets hint bits and the visibility map now, not during the measured runs.
  await sql.query('vacuum (analyze) sessions.messages');
  await sql.query('vacuum (analyze) sessions.sessions');
  // Writes the bulk load's dirty pages now, so no checkpoint competes with the measured runs.
  await sql.query('checkpoint');
  const total = Number(
    (await sql.query<{ n: string }>('select count(*)::text as n from sessions.messages')).rows[0]!.n,
  );
  const line = `seeded ${total.toLocaleString('en')} messages in ${sessions} sessions of ${USERS} users (${perSession} per session) in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  return { perSession, line };
}
