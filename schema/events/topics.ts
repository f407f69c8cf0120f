/** Every topic, declared once. Topic names get KAFKA_TOPIC_PREFIX prepended at runtime. */
export interface TopicSpec {
  name: string;
  partitions: number;
  retentionMs: number;
}

const DAY = 24 * 60 * 60 * 1000;

export const domainTopics: TopicSpec[] = [
  'session-events',
  'task-events',
  'reminder-events',
  'notification-events',
  'security-events',
  'audit-events',
].map((name) => ({ name, partitions: 3, retentionMs: 7 * DAY }));

export const dlqTopicOf = (topic: string) => `dlq.${topic}`;

export const allTopics: TopicSpec[] = [
  ...domainTopics,
  ...domainTopics.map((t) => ({ name: dlqTopicOf(t.name), partitions: 1, retentionMs: 30 * DAY })),
];
