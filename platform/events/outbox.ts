import { randomUUID } from 'node:crypto';
import { defineEntity, p, type EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger.ts';
import type { Database } from '../db/orm.ts';
import { topicOf, type EventEnvelope } from './envelope.ts';
import { traceparentHeader } from '../telemetry.ts';
import type { EventTransport } from './transport.ts';
import type { Metrics } from '../http/metrics.ts';

/**
 * Transactional outbox. An owner's change and its event are flushed together; a relay
 * publishes the rows afterwards, so a mutation succeeds even while Kafka is down.
 * The table has the same shape in every owner's schema.
 */
export const OutboxEventSchema = defineEntity({
  name: 'OutboxEvent',
  tableName: 'outbox',
  properties: {
    seq: p.bigint('string').primary().autoincrement(),
    eventId: p.uuid(),
    topic: p.string(),
    key: p.string(),
    payload: p.text(),
    headers: p.json<Record<string, string>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class OutboxEvent extends OutboxEventSchema.class {}
OutboxEventSchema.setClass(OutboxEvent);

/** Adds the event to the unit of work; it is written by the caller's single flush. */
export function recordEvent(em: EntityManager, event: EventEnvelope): void {
  em.create(OutboxEvent, {
    eventId: event.id,
    topic: topicOf(event.type),
    key: event.userId,
    payload: JSON.stringify(event),
    headers: { ce_type: event.type, ce_id: event.id, ...traceparentHeader() },
    createdAt: new Date(),
  });
}

/** A migration step creating the outbox in an owner's schema. */
export function outboxMigrationSql(schema: string): string[] {
  return [
    `create table "${schema}".outbox (
      seq bigserial primary key,
      event_id uuid not null unique,
      topic text not null,
      key text not null,
      payload text not null,
      headers jsonb not null,
      created_at timestamptz not null default now())`,
    `create table "${schema}".outbox_lease (
      id int primary key check (id = 1),
      owner text not null,
      expires_at timestamptz not null)`,
  ];
}

export interface OutboxRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Called after a commit that wrote outbox rows, so they go out at once rather than at the next sweep. */
  wake(): void;
  /** Publishes everything pending now (tests and shutdown). */
  drain(): Promise<number>;
  backlog(): Promise<{ count: number; oldestAgeMs: number }>;
}

const COALESCE_MS = 10;

export function createOutboxRelay(deps: {
  db: Database;
  schema: string;
  transport: EventTransport;
  logger: Logger;
  batchSize?: number;
  sweepMs?: number;
  metrics?: Metrics | undefined;
}): OutboxRelay {
  const conn = deps.db.orm.em.getConnection();
  const log = deps.logger.child({ component: 'outbox-relay', schema: deps.schema });
  const batchSize = deps.batchSize ?? 500;
  // Writers in this process wake the relay at commit; the sweep catches rows other
  // processes wrote (a NOTIFY trigger was measured to add ~6 ms p99 to every commit).
  const sweepMs = deps.sweepMs ?? 250;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let pendingWake = false;
  let failures = 0;

  const owner = randomUUID();

  /**
   * One relay per schema at a time (a lease, not a lock held across the publish: the
   * publish may itself need the database), so each user's events leave in commit order.
   */
  const LEASE_SECONDS = 30;
  const RENEW_AFTER_MS = 5_000;
  let leaseRenewedAt = -Infinity;

  async function holdLease(): Promise<boolean> {
    // Renewing on every cycle would add a write per commit; every few seconds is enough.
    if (performance.now() - leaseRenewedAt < RENEW_AFTER_MS) return true;
    const rows = await conn.execute<{ owner: string }[]>(
      `insert into "${deps.schema}".outbox_lease (id, owner, expires_at) values (1, ?, now() + interval '${LEASE_SECONDS} seconds')
       on conflict (id) do update set owner = excluded.owner, expires_at = excluded.expires_at
       where "${deps.schema}".outbox_lease.owner = excluded.owner or "${deps.schema}".outbox_lease.expires_at < now()
       returning owner`,
      [owner],
    );
    leaseRenewedAt = rows.length === 1 ? performance.now() : -Infinity;
    return rows.length === 1;
  }

  async function publishBatch(): Promise<number> {
    if (!(await holdLease())) return 0;
    const rows = await conn.execute<
      { seq: string; topic: string; key: string; payload: string; headers: Record<string, string> }[]
    >(
      // Ordered by the bigint column: the text alias would sort 10 before 9.
      `select seq::text as seq, topic, key, payload, headers from "${deps.schema}".outbox o order by o.seq limit ${batchSize}`,
    );
    if (rows.length === 0) return 0;
    await deps.transport.publish(
      rows.map((r) => ({ topic: r.topic, key: r.key, value: r.payload, headers: r.headers })),
    );
    for (const r of rows) deps.metrics?.produced.inc({ topic: r.topic });
    // A crash between publish and delete republishes the batch; consumers skip applied ids.
    // Exactly the rows published: a row with a lower seq whose transaction commits only
    // now was not in this batch and must stay for the next one.
    await conn.execute(
      `delete from "${deps.schema}".outbox where seq in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
      [JSON.stringify(rows.map((r) => r.seq))],
    );
    return rows.length;
  }

  async function reportBacklog(metrics: Metrics) {
    const { count, oldestAgeMs } = await backlog();
    metrics.outboxBacklog.set({ schema: deps.schema }, count);
    metrics.outboxOldestSeconds.set({ schema: deps.schema }, oldestAgeMs / 1000);
  }

  async function backlog() {
    const [row] = await conn.execute<{ count: string; oldest: string | null }[]>(
      `select count(*)::text as count, (extract(epoch from now() - min(created_at)) * 1000)::text as oldest from "${deps.schema}".outbox`,
    );
    return { count: Number(row?.count ?? 0), oldestAgeMs: Number(row?.oldest ?? 0) };
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await publishBatch();
      total += n;
      if (n < batchSize) return total;
    }
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake) {
        pendingWake = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const relay: OutboxRelay = {
    start() {
      running = true;
      loop = (async () => {
        while (running) {
          try {
            const published = await drain();
            if (deps.metrics && published === 0) await reportBacklog(deps.metrics);
            if (failures > 0) log.info({ after: failures }, 'outbox relay publishing again');
            failures = 0;
            await sleep(sweepMs);
            // Commits arriving together are published together.
            await new Promise((r) => setTimeout(r, COALESCE_MS));
          } catch (error) {
            failures += 1;
            if (deps.metrics) await reportBacklog(deps.metrics).catch(() => undefined);
            if (failures === 1 || failures % 20 === 0)
              log.warn({ err: error, failures }, 'outbox publish failed; events stay queued');
            await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
          }
        }
      })();
      return Promise.resolve();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      await conn
        .execute(`delete from "${deps.schema}".outbox_lease where owner = ?`, [owner])
        .catch(() => undefined);
    },
    wake() {
      if (wakeUp) wakeUp();
      else pendingWake = true;
    },
    drain,
    backlog,
  };
  return relay;
}
