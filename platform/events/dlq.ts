import { dlqTopicOf } from '../../schema/events/topics.ts';
import type { DeliveredMessage, EventTransport } from './transport.ts';

export interface DeadLetter {
  /** `partition:offset` in the DLQ topic. */
  position: string;
  originTopic: string;
  originPosition: string;
  type: string | undefined;
  eventId: string | undefined;
  key: string;
  error: string;
  errorClass: string;
  attempts: number;
  consumer: string | undefined;
  firstFailure: string | undefined;
  lastFailure: string | undefined;
  value: string;
}

export interface ReplayFilter {
  positions?: string[];
  type?: string;
  consumer?: string;
}

const toDeadLetter = (m: DeliveredMessage): DeadLetter => ({
  position: `${m.partition}:${m.offset}`,
  originTopic: m.headers['x-origin-topic'] ?? m.topic.replace(/^dlq\./, ''),
  originPosition: `${m.headers['x-origin-partition'] ?? '?'}:${m.headers['x-origin-offset'] ?? '?'}`,
  type: m.headers.ce_type,
  eventId: m.headers.ce_id,
  key: m.key,
  error: m.headers['x-error-message'] ?? '',
  errorClass: m.headers['x-error-class'] ?? '',
  attempts: Number(m.headers['x-attempts'] ?? 0),
  consumer: m.headers['x-consumer'],
  firstFailure: m.headers['x-first-failure'],
  lastFailure: m.headers['x-last-failure'],
  value: m.value,
});

/** Dead-letter queue operations (list, show, replay, purge), over either transport. */
export function createDlqTools(transport: EventTransport) {
  async function list(topic: string, limit = 1000): Promise<DeadLetter[]> {
    return (await transport.read(dlqTopicOf(topic), limit)).map(toDeadLetter);
  }

  return {
    list,
    async show(topic: string, position: string): Promise<DeadLetter | undefined> {
      return (await list(topic, 100_000)).find((d) => d.position === position);
    },
    /**
     * Publishes matching dead letters to their original topic again, with their original
     * headers (the failure headers are dropped); consumers skip what they already applied.
     */
    async replay(
      topic: string,
      filter: ReplayFilter,
      onProgress?: (done: number, total: number) => void,
    ): Promise<number> {
      const messages = (await transport.read(dlqTopicOf(topic), 100_000)).filter((m) => {
        const d = toDeadLetter(m);
        return (
          (!filter.positions || filter.positions.includes(d.position)) &&
          (!filter.type || d.type === filter.type) &&
          (!filter.consumer || d.consumer === filter.consumer)
        );
      });
      const batch = 100;
      for (let i = 0; i < messages.length; i += batch) {
        const slice = messages.slice(i, i + batch);
        await transport.publish(
          slice.map((m) => ({
            topic: m.headers['x-origin-topic'] ?? topic,
            key: m.key,
            value: m.value,
            headers: {
              ...Object.fromEntries(Object.entries(m.headers).filter(([k]) => !k.startsWith('x-'))),
              'x-replayed-from': `${m.partition}:${m.offset}`,
            },
          })),
        );
        onProgress?.(Math.min(i + batch, messages.length), messages.length);
      }
      return messages.length;
    },
    purge: (topic: string) => transport.truncate(dlqTopicOf(topic)),
  };
}
