import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTransport } from '../../platform/events/create-transport.ts';
import { createLogger } from '../../platform/logger.ts';
import { startOwnBroker } from '../support/own-broker.ts';
import { createTestDatabase, eventually, testConfig, uniqueName } from '../support/stack.ts';

const USER = 'parley-app';
const PASSWORD = 'a-scram-password-for-tests';

describe('Kafka with SASL authentication configured from the environment', () => {
  let broker: Awaited<ReturnType<typeof startOwnBroker>>;
  let databaseUrl: string;
  const logger = createLogger({ service: 'test', level: 'silent' });

  beforeAll(async () => {
    broker = await startOwnBroker({ PARLEY_KAFKA_SASL_USER: USER, PARLEY_KAFKA_SASL_PASSWORD: PASSWORD });
    databaseUrl = (await createTestDatabase()).url;
  }, 120_000);
  afterAll(() => {
    broker?.dispose();
  });

  it.each(['scram-sha-256', 'scram-sha-512', 'plain'])(
    'creates topics, publishes and consumes with %s',
    async (mechanism) => {
      const config = testConfig({
        KAFKA_BROKERS: broker.brokers,
        KAFKA_SASL_MECHANISM: mechanism,
        KAFKA_SASL_USERNAME: USER,
        KAFKA_SASL_PASSWORD: PASSWORD,
      });
      const transport = await createTransport(config, { databaseUrl, logger });
      const seen: string[] = [];
      const sub = await transport.subscribe({
        groupId: uniqueName('sasl-'),
        topics: ['task-events'],
        fromBeginning: false,
        handle: async (m) => void seen.push(m.value),
      });
      await transport.publish([{ topic: 'task-events', key: 'k', value: mechanism, headers: {} }]);
      await eventually(async () => (seen.includes(mechanism) ? true : undefined), 30_000, 'the message back');
      await sub.stop();
      await transport.stop();
    },
  );

  it('refuses a wrong password with an authentication error', async () => {
    const config = testConfig({
      KAFKA_BROKERS: broker.brokers,
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: USER,
      KAFKA_SASL_PASSWORD: 'not-the-password',
    });
    await expect(createTransport(config, { databaseUrl, logger })).rejects.toThrow(/authentication failed/i);
  });

  it('refuses a client that does not authenticate at all', async () => {
    const config = testConfig({ KAFKA_BROKERS: broker.brokers });
    await expect(createTransport(config, { databaseUrl, logger })).rejects.toThrow();
  }, 60_000);
});
