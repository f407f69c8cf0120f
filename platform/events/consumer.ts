import { defineEntity, p, type EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import { dlqTopicOf } from '../../schema/events/topics.ts';
import { InvalidEventError, parseEvent, type EventEnvelope } from './envelope.ts';
import type { DeliveredMessage, EventTransport, Subscription } from './transport.ts';
import { withRemoteContext } from '../telemetry.ts';
import type { Metrics } from '../http/metrics.ts';

/** Applied event ids, written in the same transaction as the handler's effect. */
export const ProcessedEventSchema = defineEntity({
  name: 'ProcessedEvent',
  tableName: 'processed_events',
  properties: {
    consumer: p.string().primary(),
    eventId: p.uuid().primary(),
    processedAt: p.datetime().onCreate(() => new Date()),
  },
});
export class ProcessedEvent extends ProcessedEventSchema.class {}
ProcessedEventSchema.setClass(ProcessedEvent);

export const processedEventsMigrationSql = (schema: string) => [
  `create table "${schema}".processed_events (
    consumer text not null,
    event_id uuid not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, event_id))`,
];

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

export type EventHandler = (event: EventEnvelope, em: EntityManager) => Promise<void>;

export interface ConsumerOptions {
  /** Also the consumer group id and the key under which applied events are recorded. */
  name: string;
  topics: string[];
  /** Event types this consumer acts on; others are acknowledged untouched. */
  types: readonly string[];
  /** The database of the owner whose tables the handler writes. */
  db: Database;
  transport: EventTransport;
  logger: Logger;
  metrics?: Metrics | undefined;
  handle: EventHandler;
  /** Runs after a handler's transaction committed (e.g. wake an outbox relay). */
  afterCommit?: () => void;
  retry?: Partial<RetryPolicy>;
  fromBeginning?: boolean;
}

export interface Consumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Messages waiting for this consumer, per partition; also published as parley_consumer_lag. */
  lag(): Promise<{ topic: string; partition: number; lag: number }[]>;
}

const LAG_REPORT_MS = 10_000;

const backoff = (policy: RetryPolicy, attempt: number) =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);

/**
 * The one way events are consumed: validated, applied exactly once in effect,
 * retried with backoff and jitter, then dead-lettered so the partition moves on.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const log = options.logger.child({ consumer: options.name });
  const wanted = new Set(options.types);
  let subscription: Subscription | undefined;
  let stopping = false;
  let lagTimer: NodeJS.Timeout | undefined;

  async function lag() {
    const partitions = await options.transport.lag(options.name, options.topics);
    for (const p of partitions)
      options.metrics?.consumerLag.set(
        { group: options.name, topic: p.topic, partition: String(p.partition) },
        p.lag,
      );
    return partitions;
  }

  async function applyOnce(event: EventEnvelope): Promise<'applied' | 'duplicate'> {
    const em = options.db.fork();
    return em.transactional(async (tx) => {
      const inserted = await tx
        .getConnection()
        .execute<{ event_id: string }[]>(
          `insert into "${options.db.schema}".processed_events (consumer, event_id) values (?, ?) on conflict do nothing returning event_id`,
          [options.name, event.id],
          'all',
          tx.getTransactionContext(),
        );
      if (inserted.length === 0) return 'duplicate';
      await options.handle(event, tx);
      return 'applied';
    });
  }

  async function deadLetter(message: DeliveredMessage, error: Error, attempts: number, firstFailure: Date) {
    await options.transport.publish([
      {
        topic: dlqTopicOf(message.topic),
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          'x-error-message': error.message.slice(0, 1000),
          'x-error-class': error.name,
          'x-attempts': String(attempts),
          'x-origin-topic': message.topic,
          'x-origin-partition': String(message.partition),
          'x-origin-offset': message.offset,
          'x-consumer': options.name,
          'x-first-failure': firstFailure.toISOString(),
          'x-last-failure': new Date().toISOString(),
        },
      },
    ]);
    options.metrics?.deadLettered.inc({ consumer: options.name, topic: message.topic });
    log.error(
      { err: error, attempts, topic: message.topic, offset: message.offset },
      'message dead-lettered',
    );
  }

  /** The envelope of a message this consumer acts on; invalid ones are dead-lettered here. */
  async function eventOf(message: DeliveredMessage): Promise<EventEnvelope | undefined> {
    const type = message.headers.ce_type;
    if (type && !wanted.has(type)) return undefined;
    try {
      const event = parseEvent(message.value);
      return wanted.has(event.type) ? event : undefined;
    } catch (error) {
      await deadLetter(message, error as Error, 0, new Date());
      return undefined;
    }
  }

  /** Applies a batch in one transaction; processed_events makes redelivered ids no-ops. */
  async function applyBatch(events: EventEnvelope[]): Promise<number> {
    const em = options.db.fork();
    return em.transactional(async (tx) => {
      const inserted = await tx.getConnection().execute<{ event_id: string }[]>(
        `insert into "${options.db.schema}".processed_events (consumer, event_id)
           select ?, x::uuid from jsonb_array_elements_text(?::jsonb) x on conflict do nothing returning event_id`,
        [options.name, JSON.stringify(events.map((e) => e.id))],
        'all',
        tx.getTransactionContext(),
      );
      const fresh = new Set(inserted.map((r) => r.event_id));
      for (const event of events) {
        if (!fresh.delete(event.id)) continue;
        await options.handle(event, tx);
      }
      return inserted.length;
    });
  }

  async function handleBatch(messages: DeliveredMessage[]): Promise<void> {
    const items: { message: DeliveredMessage; event: EventEnvelope }[] = [];
    for (const message of messages) {
      const event = await eventOf(message);
      if (event) items.push({ message, event });
    }
    if (items.length === 0) return;
    const started = performance.now();
    try {
      const applied = await withRemoteContext(items[0]!.message.headers, () =>
        applyBatch(items.map((i) => i.event)),
      );
      options.metrics?.consumed.inc(
        { consumer: options.name, topic: items[0]!.message.topic, outcome: 'applied' },
        applied,
      );
      options.metrics?.consumed.inc(
        { consumer: options.name, topic: items[0]!.message.topic, outcome: 'duplicate' },
        items.length - applied,
      );
      options.metrics?.handlerSeconds.observe(
        { consumer: options.name },
        (performance.now() - started) / 1000,
      );
      if (applied > 0) options.afterCommit?.();
    } catch (error) {
      // One bad event must not hold back the rest: apply one by one, with retries.
      log.debug({ err: error, size: items.length }, 'batch failed; applying its events one by one');
      for (const { message, event } of items) await applyWithRetries(message, event);
    }
  }

  async function handleMessage(message: DeliveredMessage): Promise<void> {
    const event = await eventOf(message);
    if (event) await applyWithRetries(message, event);
  }

  async function applyWithRetries(message: DeliveredMessage, event: EventEnvelope): Promise<void> {
    const firstFailure = new Date();
    for (let attempt = 1; ; attempt += 1) {
      const started = performance.now();
      try {
        const outcome = await withRemoteContext(message.headers, () => applyOnce(event));
        options.metrics?.consumed.inc({ consumer: options.name, topic: message.topic, outcome });
        options.metrics?.handlerSeconds.observe(
          { consumer: options.name },
          (performance.now() - started) / 1000,
        );
        if (outcome === 'applied') options.afterCommit?.();
        return;
      } catch (error) {
        options.metrics?.failed.inc({ consumer: options.name, topic: message.topic });
        const final = attempt >= policy.attempts || error instanceof InvalidEventError;
        if (final || stopping) {
          // On shutdown the message is left uncommitted and redelivered to the next owner.
          if (stopping && !final) throw error;
          await deadLetter(message, error as Error, attempt, firstFailure);
          return;
        }
        log.warn({ err: error, attempt, eventId: event.id }, 'handler failed; retrying');
        await new Promise((r) => setTimeout(r, backoff(policy, attempt)));
      }
    }
  }

  return {
    async start() {
      stopping = false;
      subscription = await options.transport.subscribe({
        groupId: options.name,
        topics: options.topics,
        fromBeginning: options.fromBeginning ?? true,
        handle: handleMessage,
        handleBatch,
      });
      if (options.metrics) {
        lagTimer = setInterval(
          () => void lag().catch((error: unknown) => log.debug({ err: error }, 'lag report failed')),
          LAG_REPORT_MS,
        );
        lagTimer.unref();
      }
    },
    async stop() {
      stopping = true;
      clearInterval(lagTimer);
      await subscription?.stop();
      subscription = undefined;
    },
    pause: () => subscription?.pause(),
    resume: () => subscription?.resume(),
    lag,
  };
}
