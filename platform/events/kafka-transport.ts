import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Consumer, type KafkaConfig, type Producer, type SASLOptions } from 'kafkajs';
import type { TopicSpec } from '../../schema/events/topics.ts';
import type { Logger } from '../logger.ts';
import type { EventTransport, OutgoingMessage, SubscribeOptions, Subscription } from './transport.ts';

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  ssl?: boolean | undefined;
  sslCaFile?: string | undefined;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  logger: Logger;
}

const toPino = (level: logLevel) =>
  level === logLevel.ERROR || level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'debug' : 'trace';

export function createKafkaTransport(options: KafkaTransportOptions): EventTransport {
  const log = options.logger.child({ component: 'kafka' });
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => log[toPino(entry.level)]({ kafka: entry.log, ns: entry.namespace }, entry.log.message),
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
          for (const message of batch.messages) {
            if (!payload.isRunning() || payload.isStale()) break;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) {
              if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
            }
            await sub.handle({
              topic: unprefixed(batch.topic),
              partition: batch.partition,
              offset: message.offset,
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
              headers,
            });
            payload.resolveOffset(message.offset);
            // Committed only now that the handler's effect is durable.
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: (BigInt(message.offset) + 1n).toString() },
            ]);
            await payload.heartbeat();
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
            throw new Error(`Kafka topics missing: ${missing.map((t) => prefixed(t.name)).join(', ')} (create them with "npm run parley -- topics create")`);
          }
          const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => prefixed(t.name)) });
          const wrong = meta.topics.filter((t) => t.partitions.length !== topics.find((s) => prefixed(s.name) === t.name)?.partitions);
          if (wrong.length > 0) throw new Error(`Kafka topics with wrong partition count: ${wrong.map((t) => t.name).join(', ')}`);
          return;
        }
        if (missing.length === 0) return;
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({
            topic: prefixed(t.name),
            numPartitions: t.partitions,
            replicationFactor: -1,
            configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
          })),
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
            const done = Number(p.offset) < 0 ? Number(ends.find((e) => e.partition === p.partition)?.low ?? 0) : Number(p.offset);
            result.push({ topic: unprefixed(t.topic), partition: p.partition, lag: Math.max(0, end - done) });
          }
        }
        return result;
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
