/**
 * A consumer in a process of its own, so a test can SIGKILL it mid-batch.
 * Env: DATABASE_URL, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, CONSUMER_NAME.
 */
import { createDatabase } from '../../platform/db/orm.ts';
import { createConsumer } from '../../platform/events/consumer.ts';
import { createTransport } from '../../platform/events/create-transport.ts';
import { createLogger } from '../../platform/logger.ts';
import { sessionsEntities } from '../../subgraphs/sessions/entities.ts';
import { sessionsMigrations } from '../../subgraphs/sessions/migrations.ts';
import { testConfig } from './stack.ts';

const config = testConfig({ KAFKA_TOPIC_PREFIX: process.env.KAFKA_TOPIC_PREFIX });
const logger = createLogger({ service: 'consumer-process', level: 'error' });
const url = process.env.DATABASE_URL!;
const transport = await createTransport(config, { databaseUrl: url, logger });
const db = await createDatabase({
  url,
  schema: 'sessions',
  entities: sessionsEntities,
  migrations: sessionsMigrations,
  logger,
  poolSize: 3,
});
const consumer = createConsumer({
  name: process.env.CONSUMER_NAME!,
  topics: ['task-events'],
  types: ['task.completed'],
  db,
  transport,
  logger,
  fromBeginning: true,
  handle: async (event, em) => {
    await em
      .getConnection()
      .execute(
        'insert into sessions.test_effects (event_id, task_id) values (?, ?)',
        [event.id, event.subject],
        'all',
        em.getTransactionContext(),
      );
    // Slow enough that a kill lands in the middle of a batch.
    await new Promise((r) => setTimeout(r, 5));
  },
});
await consumer.start();
process.stdout.write('ready\n');
