import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import {
  Kafka,
  logLevel,
  type Consumer,
  type KafkaConfig,
  type KafkaMessage,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { TopicSpec } from '../../schema/events/topics.ts';
import type { Logger } from '../logger.ts';
import type {
  DeliveredMessage,
  EventTransport,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './transport.ts';

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  ssl?: boolean | undefined;
  sslCaFile?: string | undefined;
  sasl?:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined;
  logger: Logger;
}

const toPino = (level: logLevel) =>
  level === logLevel.ERROR || level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'debug' : 'trace';

const BATCH_SIZE = 500;

function toDelivered(topic: string, partition: number, message: KafkaMessage): DeliveredMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? '',
    value: message.value?.toString() ?? '',
    headers,
  };
}

export function createKafkaTransport(options: KafkaTransportOptions): EventTransport {
  const log = options.logger.child({ component: 'kafka' });
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) =>
      log[toPino(entry.level)]({ kafka: entry.log, ns: entry.namespace }, entry.log.message),
  };
  if (options.ssl || options.sslCaFile) {
    config.ssl = options.sslCaFile ? { ca: [readFileSync(options.sslCaFile, 'utf8')] } : true;
  }
  if (options.sasl) config.sasl = options.sasl as SASLOptions;
  const kafka = new Kafka(config);
  const prefixed = (topic: string) => `${options.topicPrefix}${topic}`;
  const unprefixed = (topic: string) => topic.slice(options.topicPrefix.length);

  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  const consumers = new Set<Consumer>();

  async function getProducer(): Promise<Producer> {
    if (producer) return producer;
    connecting ??= (async () => {
      // Idempotent + one request in flight: retries never duplicate or reorder a user's events.
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      p.on(p.events.DISCONNECT, () => {
        if (producer === p) producer = undefined;
      });
      await p.connect();
      producer = p;
      return p;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  /**
   * A broker that has just started answers some admin requests with retriable errors for a
   * few seconds ("coordinator is loading", or a topic just created that its metadata does not
   * serve yet); kafkajs' admin client does not retry those itself.
   */
  async function retryingRetriable<T>(request: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await request();
      } catch (error) {
        const retriable = error instanceof kafkajs.KafkaJSError && error.retriable;
        if (!retriable || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * attempt)));
      }
    }
  }

  /**
   * A new group that starts "at the end" records the end as its committed position now,
   * so the start is fixed at subscribe time (as in the event log), not at first fetch.
   */
  async function pinStartAtEnd(groupId: string, topics: string[]) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of topics) {
        const [committed] = await retryingRetriable(() => admin.fetchOffsets({ groupId, topics: [topic] }));
        const unset = committed?.partitions.filter((p) => Number(p.offset) < 0) ?? [];
        if (unset.length === 0) continue;
        const ends = await admin.fetchTopicOffsets(topic);
        await retryingRetriable(() =>
          admin.setOffsets({
            groupId,
            topic,
            partitions: unset.map((p) => ({
              partition: p.partition,
              offset: ends.find((e) => e.partition === p.partition)?.high ?? '0',
            })),
          }),
        );
      }
    } finally {
      await admin.disconnect();
    }
  }

  return {
    kind: 'kafka',

    async publish(messages: OutgoingMessage[]) {
      if (messages.length === 0) return;
      const p = await getProducer();
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const m of messages) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m]);
      try {
        await p.sendBatch({
          acks: -1,
          timeout: 10000,
          topicMessages: [...byTopic].map(([topic, list]) => ({
            topic: prefixed(topic),
            messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          })),
        });
      } catch (error) {
        // A producer that failed mid-send is rebuilt so the next attempt starts clean.
        producer = undefined;
        await p.disconnect().catch(() => undefined);
        throw error;
      }
    },

    async subscribe(sub: SubscribeOptions): Promise<Subscription> {
      if (!sub.fromBeginning) await pinStartAtEnd(sub.groupId, sub.topics.map(prefixed));
      const consumer = kafka.consumer({
        groupId: sub.groupId,
        sessionTimeout: 10000,
        heartbeatInterval: 1000,
        rebalanceTimeout: 15000,
        maxWaitTimeInMs: 50,
        allowAutoTopicCreation: false,
      });
      consumers.add(consumer);
      // Ready means joined AND one fetch done: only then is a new group's starting offset
      // fixed, so nothing published after subscribe() returns can be skipped.
      const ready = new Promise<void>((resolve) => {
        consumer.on(consumer.events.GROUP_JOIN, () => {
          const off = consumer.on(consumer.events.FETCH, () => {
            off();
            resolve();
          });
        });
      });
      await consumer.connect();
      await consumer.subscribe({ topics: sub.topics.map(prefixed), fromBeginning: sub.fromBeginning });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const step = sub.handleBatch ? BATCH_SIZE : 1;
          let handled: string | undefined;
          // Only offsets whose handler resolved are committed, so their effects are durable.
          const commit = async () => {
            if (handled === undefined) return;
            const offset = (BigInt(handled) + 1n).toString();
            handled = undefined;
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }]);
          };
          try {
            for (let i = 0; i < batch.messages.length; i += step) {
              if (!payload.isRunning() || payload.isStale()) break;
              const chunk = batch.messages.slice(i, i + step);
              const delivered = chunk.map((m) => toDelivered(unprefixed(batch.topic), batch.partition, m));
              if (sub.handleBatch) await sub.handleBatch(delivered);
              else await sub.handle(delivered[0]!);
              handled = chunk.at(-1)!.offset;
              payload.resolveOffset(handled);
              // A handler's batch is committed at once. Single messages are committed together
              // at the end of the fetch: one commit per message (a broker round trip each) held
              // the router's live feed to a few hundred messages a second.
              if (sub.handleBatch) await commit();
              await payload.heartbeat();
            }
          } finally {
            // Also when a handler threw: what was handled before it stays handled.
            await commit();
          }
        },
      });
      await Promise.race([ready, new Promise((r) => setTimeout(r, 30000))]);
      const topics = sub.topics.map(prefixed);
      return {
        async stop() {
          consumers.delete(consumer);
          await consumer.disconnect();
        },
        pause: () => consumer.pause(topics.map((topic) => ({ topic }))),
        resume: () => consumer.resume(topics.map((topic) => ({ topic }))),
      };
    },

    async ensureTopics(topics: TopicSpec[], mode) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(prefixed(t.name)));
        if (mode === 'verify') {
          if (missing.length > 0) {
            throw new Error(
              `Kafka topics missing: ${missing.map((t) => prefixed(t.name)).join(', ')} (create them with "npm run parley -- topics create")`,
            );
          }
          const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => prefixed(t.name)) });
          const wrong = meta.topics.filter(
            (t) => t.partitions.length !== topics.find((s) => prefixed(s.name) === t.name)?.partitions,
          );
          if (wrong.length > 0)
            throw new Error(
              `Kafka topics with wrong partition count: ${wrong.map((t) => t.name).join(', ')}`,
            );
          const described = await admin.describeConfigs({
            includeSynonyms: false,
            resources: topics.map((t) => ({
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: prefixed(t.name),
              configNames: ['retention.ms'],
            })),
          });
          const badRetention = described.resources.filter((r) => {
            const spec = topics.find((t) => prefixed(t.name) === r.resourceName);
            return (
              spec &&
              r.configEntries.find((c) => c.configName === 'retention.ms')?.configValue !==
                String(spec.retentionMs)
            );
          });
          if (badRetention.length > 0)
            throw new Error(
              `Kafka topics with wrong retention.ms: ${badRetention.map((r) => r.resourceName).join(', ')}`,
            );
          return;
        }
        if (missing.length === 0) return;
        await retryingRetriable(async () => {
          // Again on a retry: the failed attempt may have created some of them already.
          const present = new Set(await admin.listTopics());
          const toCreate = missing.filter((t) => !present.has(prefixed(t.name)));
          if (toCreate.length > 0)
            await admin.createTopics({
              waitForLeaders: true,
              topics: toCreate.map((t) => ({
                topic: prefixed(t.name),
                numPartitions: t.partitions,
                replicationFactor: -1,
                configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
              })),
            });
          // Throws (retriably) until every new topic's partitions are served.
          await admin.fetchTopicMetadata({ topics: missing.map((t) => prefixed(t.name)) });
        });
      } finally {
        await admin.disconnect();
      }
    },

    async lag(groupId, topics) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const result: { topic: string; partition: number; lag: number }[] = [];
        const committed = await admin.fetchOffsets({ groupId, topics: topics.map(prefixed) });
        for (const t of committed) {
          const ends = await admin.fetchTopicOffsets(t.topic);
          for (const p of t.partitions) {
            const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? 0);
            const done =
              Number(p.offset) < 0
                ? Number(ends.find((e) => e.partition === p.partition)?.low ?? 0)
                : Number(p.offset);
            result.push({ topic: unprefixed(t.topic), partition: p.partition, lag: Math.max(0, end - done) });
          }
        }
        return result;
      } finally {
        await admin.disconnect();
      }
    },

    async read(topic, limit) {
      const name = prefixed(topic);
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(name).finally(() => admin.disconnect());
      const pending = new Map(
        ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high) - 1]),
      );
      const out: DeliveredMessage[] = [];
      if (pending.size === 0) return out;
      // A throwaway group reads from the start up to the end offsets seen above.
      const consumer = kafka.consumer({ groupId: `parley-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [name], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 30_000);
          consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                if (out.length < limit) out.push(toDelivered(topic, partition, message));
                if (Number(message.offset) >= (pending.get(partition) ?? -1)) pending.delete(partition);
                if (pending.size === 0 || out.length >= limit) {
                  clearTimeout(timer);
                  resolve();
                }
                await Promise.resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
      return out.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
    },

    async truncate(topic) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const ends = await admin.fetchTopicOffsets(prefixed(topic));
        await admin.deleteTopicRecords({
          topic: prefixed(topic),
          partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
        });
        return ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      } finally {
        await admin.disconnect();
      }
    },

    async stop() {
      await Promise.all([...consumers].map((c) => c.disconnect().catch(() => undefined)));
      consumers.clear();
      await producer?.disconnect().catch(() => undefined);
      producer = undefined;
    },
  };
}
