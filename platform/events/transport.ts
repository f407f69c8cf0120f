import type { TopicSpec } from '../../schema/events/topics.ts';

/**
 * What every processor, relay and the router's subscription feed talk to. Two
 * implementations: Kafka (production) and an event log kept in Postgres (embedded).
 * A caller cannot tell them apart; one contract test suite runs against both.
 */
export interface OutgoingMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface DeliveredMessage extends OutgoingMessage {
  partition: number;
  offset: string;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. */
  fromBeginning: boolean;
  /**
   * Called one message at a time per partition, in order. The offset is committed only
   * after it resolves (on Kafka, together with the rest of the fetch); if it throws, the
   * message is delivered again.
   */
  handle(message: DeliveredMessage): Promise<void>;
  /**
   * When given, used instead of handle: several messages (one partition's, in order) at
   * once, committed together after it resolves. Lets a consumer apply them in one
   * database transaction.
   */
  handleBatch?(messages: DeliveredMessage[]): Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface EventTransport {
  readonly kind: 'kafka' | 'postgres';
  publish(messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Development creates missing topics; production only verifies them and fails clearly. */
  ensureTopics(topics: TopicSpec[], mode: 'create' | 'verify'): Promise<void>;
  /** Messages waiting for a group, per topic and partition (for lag metrics and tests). */
  lag(groupId: string, topics: string[]): Promise<{ topic: string; partition: number; lag: number }[]>;
  /** Everything a topic holds now, oldest first (for inspecting dead letters). */
  read(topic: string, limit: number): Promise<DeliveredMessage[]>;
  /** Deletes everything a topic holds now; returns how many messages went. */
  truncate(topic: string): Promise<number>;
  stop(): Promise<void>;
}
