/**
 * A consumer in a process of its own, so a test can SIGKILL it mid-batch.
 * Env: DATABASE_URL, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, CONSUMER_NAME.
 */
import { createConsumer } from '../../platform/events/consumer.ts';
import { createTransport } from '../../platform/events/create-transport.ts';
import { createLogger } from '../../platform/logger.ts';
import { openEffectsDb, recordEffect } from './effects.ts';
import { testConfig } from './stack.ts';

const config = testConfig({ KAFKA_TOPIC_PREFIX: process.env.KAFKA_TOPIC_PREFIX });
const logger = createLogger({ service: 'consumer-process', level: 'error' });
const url = process.env.DATABASE_URL!;
const transport = await createTransport(config, { databaseUrl: url, logger });
const db = await openEffectsDb(url, logger);
const consumer = createConsumer({
  name: process.env.CONSUMER_NAME!,
  topics: ['task-events'],
  types: ['task.completed'],
  db,
  transport,
  logger,
  fromBeginning: true,
  handle: async (event, em) => {
    await recordEffect(event, em);
    // Slow enough that a kill lands in the middle of a batch.
    await new Promise((r) => setTimeout(r, 5));
  },
});
await consumer.start();
process.stdout.write('ready\n');
