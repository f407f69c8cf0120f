import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTransport } from '../../platform/events/create-transport.ts';
import type { EventTransport } from '../../platform/events/transport.ts';
import { createLogger } from '../../platform/logger.ts';
import { allTopics } from '../../schema/events/topics.ts';
import { ROOT } from '../support/env.ts';
import { createTestDatabase, testConfig } from '../support/stack.ts';

const run = promisify(execFile);

describe('the operations CLI (npm run parley)', () => {
  const config = testConfig();
  let url: string;
  let kafka: EventTransport;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [join(ROOT, 'platform/cli/main.ts'), ...args], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX,
        LOG_LEVEL: 'error',
        ...env,
      },
    });

  beforeAll(async () => {
    url = (await createTestDatabase()).url;
    kafka = await createTransport(config, {
      databaseUrl: url,
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
  });
  afterAll(async () => {
    await kafka?.stop();
  });

  it('verifies the topics it created, with their partitions and retention', async () => {
    const { stdout } = await cli(['topics', 'verify']);
    expect(stdout).toContain(`topics verified: ${allTopics.map((t) => t.name).join(', ')}`);
  });

  it('fails clearly when topics are missing in production-style verification', async () => {
    await expect(cli(['topics', 'verify'], { KAFKA_TOPIC_PREFIX: 'absent.' })).rejects.toMatchObject({
      stderr: expect.stringContaining('Kafka topics missing: absent.session-events'),
    });
  });

  it('lists, shows, replays and purges dead letters', async () => {
    await kafka.publish([
      {
        topic: 'dlq.task-events',
        key: 'u1',
        value: '{"broken": true}',
        headers: {
          'x-error-message': 'boom',
          'x-error-class': 'Error',
          'x-attempts': '5',
          'x-origin-topic': 'task-events',
          'x-origin-partition': '0',
          'x-origin-offset': '7',
        },
      },
    ]);
    const list = await cli(['dlq', 'list', 'task-events']);
    expect(list.stdout).toMatch(/^0:0\t-\t-\tattempts=5\t\tError: boom$/m);
    const show = await cli(['dlq', 'show', 'task-events', '0:0']);
    expect(JSON.parse(show.stdout)).toMatchObject({
      originTopic: 'task-events',
      originPosition: '0:7',
      value: { broken: true },
    });
    const replay = await cli(['dlq', 'replay', 'task-events', '--all']);
    expect(replay.stdout).toContain('replayed 1 message(s) to task-events');
    const replayed = await kafka.read('task-events', 10);
    expect(replayed.at(-1)).toMatchObject({
      value: '{"broken": true}',
      headers: { 'x-replayed-from': '0:0' },
    });
    expect((await cli(['dlq', 'purge', 'task-events'])).stdout).toContain('purged 1 message(s)');
    expect((await cli(['dlq', 'list', 'task-events'])).stdout).toContain('0 dead letter(s)');
  });

  it('refuses a command it does not know, with the usage', async () => {
    await expect(cli(['dlq', 'replay', 'task-events'])).rejects.toMatchObject({
      stderr: expect.stringContaining('say what to replay'),
    });
    await expect(cli(['frobnicate'])).rejects.toMatchObject({
      stderr: expect.stringContaining('usage: npm run parley'),
    });
  });
});
