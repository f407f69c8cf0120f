import { createDatabase } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import { allTopics } from '../../schema/events/topics.ts';
import { createKafkaTransport, type KafkaTransportOptions } from './kafka-transport.ts';
import { createPostgresLogTransport } from './postgres-log/transport.ts';
import { eventLogMigrations } from './postgres-log/migrations.ts';
import type { EventTransport } from './transport.ts';

export interface TransportConfig {
  PARLEY_ENV: 'development' | 'test' | 'production';
  KAFKA_BROKERS?: string | undefined;
  KAFKA_CLIENT_ID: string;
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_TOPIC_PREFIX: string;
  KAFKA_CREATE_TOPICS: boolean;
}

/** Connection settings for Kafka (brokers, TLS, SASL) from the process configuration. */
export function kafkaOptions(config: TransportConfig, logger: Logger): KafkaTransportOptions {
  if (!config.KAFKA_BROKERS) throw new Error('KAFKA_BROKERS must be set');
  return {
    brokers: config.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    clientId: config.KAFKA_CLIENT_ID,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    ssl: config.KAFKA_SSL,
    sslCaFile: config.KAFKA_SSL_CA_FILE,
    sasl:
      config.KAFKA_SASL_MECHANISM && config.KAFKA_SASL_USERNAME && config.KAFKA_SASL_PASSWORD
        ? {
            mechanism: config.KAFKA_SASL_MECHANISM,
            username: config.KAFKA_SASL_USERNAME,
            password: config.KAFKA_SASL_PASSWORD,
          }
        : undefined,
    logger,
  };
}

/**
 * Kafka when KAFKA_BROKERS is set, else the event log in Postgres. Topics are created
 * outside production and only verified in production.
 */
export async function createTransport(
  config: TransportConfig,
  deps: { databaseUrl: string; logger: Logger },
): Promise<EventTransport> {
  if (config.KAFKA_BROKERS) {
    const transport = createKafkaTransport(kafkaOptions(config, deps.logger));
    const create = config.PARLEY_ENV !== 'production' || config.KAFKA_CREATE_TOPICS;
    await transport.ensureTopics(allTopics, create ? 'create' : 'verify');
    return transport;
  }
  const db = await createDatabase({
    url: deps.databaseUrl,
    schema: 'eventlog',
    entities: [],
    migrations: eventLogMigrations,
    logger: deps.logger,
    poolSize: 5,
  });
  await db.migrate();
  const transport = createPostgresLogTransport({
    db,
    logger: deps.logger,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
  });
  // Records each topic's retention and starts pruning, as Kafka enforces retention.
  await transport.ensureTopics(allTopics, 'create');
  return {
    ...transport,
    async stop() {
      await transport.stop();
      await db.close();
    },
  };
}
