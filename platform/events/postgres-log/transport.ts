import { createHash, randomUUID } from 'node:crypto';
import type { TopicSpec } from '../../../schema/events/topics.ts';
import type { Database } from '../../db/orm.ts';
import type { Logger } from '../../logger.ts';
import type { EventTransport, OutgoingMessage, SubscribeOptions, Subscription } from '../transport.ts';

/**
 * The embedded stand-in for Kafka: an append-only table in Postgres with the same
 * contract (keyed partitions, per-group committed offsets, one active consumer per
 * group, redelivery of anything not committed).
 */
export interface PostgresLogOptions {
  db: Database;
  logger: Logger;
  topicPrefix: string;
  partitions?: number;
  pollIntervalMs?: number;
}

const LEASE_MS = 10_000;
const BATCH = 200;
const PRUNE_EVERY_MS = 60_000;

interface Row {
  id: string;
  topic: string;
  partition: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export function createPostgresLogTransport(
  options: PostgresLogOptions,
): EventTransport & { pruneExpired(): Promise<number> } {
  const conn = options.db.orm.em.getConnection();
  const partitions = options.partitions ?? 3;
  const pollMs = options.pollIntervalMs ?? 50;
  const prefixed = (topic: string) => `${options.topicPrefix}${topic}`;
  const unprefixed = (topic: string) => topic.slice(options.topicPrefix.length);
  const partitionOf = (key: string) => createHash('md5').update(key).digest().readUInt32BE(0) % partitions;
  const running = new Set<{ stop(): Promise<void> }>();
  const retention = new Map<string, number>();
  let pruneTimer: NodeJS.Timeout | undefined;

  /** Deletes messages older than their topic's retention, as Kafka would. */
  async function pruneExpired(): Promise<number> {
    let removed = 0;
    for (const [topic, ms] of retention) {
      const rows = await conn.execute<{ id: string }[]>(
        `delete from eventlog.messages where topic = ? and created_at < now() - (? * interval '1 millisecond') returning id`,
        [topic, ms],
      );
      removed += rows.length;
    }
    return removed;
  }

  async function tryLease(groupId: string, owner: string): Promise<boolean> {
    const rows = await conn.execute<{ owner: string }[]>(
      `insert into eventlog.group_leases (group_id, owner, expires_at) values (?, ?, now() + interval '${LEASE_MS} milliseconds')
       on conflict (group_id) do update set owner = excluded.owner, expires_at = excluded.expires_at
       where eventlog.group_leases.owner = excluded.owner or eventlog.group_leases.expires_at < now()
       returning owner`,
      [groupId, owner],
    );
    return rows.length === 1;
  }

  async function startFrom(groupId: string, topics: string[], fromBeginning: boolean) {
    if (fromBeginning) return;
    // A new group that starts at the end records the current end as its position.
    await conn.execute(
      `insert into eventlog.group_offsets (group_id, topic, partition, next_id)
       select ?, t, p, coalesce((select max(id) from eventlog.messages), 0) + 1
       from jsonb_array_elements_text(?::jsonb) t, generate_series(0, ${partitions - 1}) p
       on conflict do nothing`,
      [groupId, JSON.stringify(topics)],
    );
  }

  return {
    kind: 'postgres',
    pruneExpired,

    async publish(messages: OutgoingMessage[]) {
      if (messages.length === 0) return;
      await conn.transactional(async (trx) => {
        // Publishers take turns so ids become visible in id order: a reader never skips
        // an id that commits after a higher one.
        await conn.execute(`select pg_advisory_xact_lock(hashtext('eventlog.publish'))`, [], 'all', trx);
        await conn.execute(
          `insert into eventlog.messages (topic, partition, key, value, headers)
           select topic, partition, key, value, headers
           from jsonb_to_recordset(?::jsonb) as m(topic text, partition int, key text, value text, headers jsonb)`,
          [
            JSON.stringify(
              messages.map((m) => ({
                topic: prefixed(m.topic),
                partition: partitionOf(m.key),
                key: m.key,
                value: m.value,
                headers: m.headers,
              })),
            ),
          ],
          'all',
          trx,
        );
      });
    },

    async subscribe(sub: SubscribeOptions): Promise<Subscription> {
      const owner = randomUUID();
      const topics = sub.topics.map(prefixed);
      const log = options.logger.child({ component: 'eventlog', group: sub.groupId });
      await startFrom(sub.groupId, topics, sub.fromBeginning);
      let stopped = false;
      let paused = false;
      let wake: (() => void) | undefined;
      const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });

      async function pollOnce(): Promise<number> {
        if (!(await tryLease(sub.groupId, owner))) return 0;
        const rows = await conn.execute<Row[]>(
          `select m.id::text as id, m.topic, m.partition, m.key, m.value, m.headers
           from eventlog.messages m
           left join eventlog.group_offsets o on o.group_id = ? and o.topic = m.topic and o.partition = m.partition
           where m.topic in (select jsonb_array_elements_text(?::jsonb)) and m.id >= coalesce(o.next_id, 0)
           order by m.id limit ${BATCH}`,
          [sub.groupId, JSON.stringify(topics)],
        );
        const commit = (done: Row[]) =>
          conn.execute(
            `insert into eventlog.group_offsets (group_id, topic, partition, next_id)
             select ?, x.topic, x.partition, x.next_id from jsonb_to_recordset(?::jsonb) as x(topic text, partition int, next_id bigint)
             on conflict (group_id, topic, partition) do update set next_id = excluded.next_id`,
            [
              sub.groupId,
              JSON.stringify(
                done.map((r) => ({
                  topic: r.topic,
                  partition: r.partition,
                  next_id: (BigInt(r.id) + 1n).toString(),
                })),
              ),
            ],
          );
        if (sub.handleBatch && rows.length > 0 && !stopped && !paused) {
          await sub.handleBatch(
            rows.map((row) => ({ ...row, topic: unprefixed(row.topic), offset: row.id })),
          );
          // The last row of each partition carries the group's new position there.
          await commit([...new Map(rows.map((r) => [`${r.topic}/${r.partition}`, r])).values()]);
          return rows.length;
        }
        for (const row of rows) {
          if (stopped || paused) break;
          await sub.handle({ ...row, topic: unprefixed(row.topic), offset: row.id });
          await commit([row]);
        }
        return rows.length;
      }

      const loop = (async () => {
        while (!stopped) {
          let got = 0;
          if (!paused) {
            try {
              got = await pollOnce();
            } catch (error) {
              log.warn({ err: error }, 'event log poll failed; retrying');
              await sleep(500);
            }
          }
          if (got < BATCH && !stopped) await sleep(pollMs);
        }
      })();
      const handle = {
        async stop() {
          stopped = true;
          wake?.();
          await loop;
          await conn.execute('delete from eventlog.group_leases where group_id = ? and owner = ?', [
            sub.groupId,
            owner,
          ]);
          running.delete(handle);
        },
        pause: () => {
          paused = true;
        },
        resume: () => {
          paused = false;
          wake?.();
        },
      };
      running.add(handle);
      return handle;
    },

    // Topics are rows here: nothing to create; their retention is enforced by pruning.
    ensureTopics(topics: TopicSpec[]) {
      for (const t of topics) retention.set(prefixed(t.name), t.retentionMs);
      pruneTimer ??= setInterval(
        () =>
          void pruneExpired().catch((error: unknown) =>
            options.logger.warn({ err: error }, 'event log pruning failed'),
          ),
        PRUNE_EVERY_MS,
      );
      pruneTimer.unref();
      return Promise.resolve();
    },

    async lag(groupId, topics) {
      const rows = await conn.execute<{ topic: string; partition: number; lag: string }[]>(
        `select m.topic, m.partition, count(*)::text as lag from eventlog.messages m
         left join eventlog.group_offsets o on o.group_id = ? and o.topic = m.topic and o.partition = m.partition
         where m.topic in (select jsonb_array_elements_text(?::jsonb)) and m.id >= coalesce(o.next_id, 0)
         group by m.topic, m.partition`,
        [groupId, JSON.stringify(topics.map(prefixed))],
      );
      return rows.map((r) => ({ topic: unprefixed(r.topic), partition: r.partition, lag: Number(r.lag) }));
    },

    async read(topic, limit) {
      const rows = await conn.execute<Row[]>(
        `select id::text as id, topic, partition, key, value, headers from eventlog.messages m where m.topic = ? order by m.id limit ${Number(limit)}`,
        [prefixed(topic)],
      );
      return rows.map((row) => ({ ...row, topic, offset: row.id }));
    },

    async truncate(topic) {
      const rows = await conn.execute<{ id: string }[]>(
        'delete from eventlog.messages where topic = ? returning id',
        [prefixed(topic)],
      );
      return rows.length;
    },

    async stop() {
      clearInterval(pruneTimer);
      await Promise.all([...running].map((r) => r.stop()));
    },
  };
}
