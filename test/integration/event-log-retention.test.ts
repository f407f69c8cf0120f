import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDatabase, type Database } from '../../platform/db/orm.ts';
import { createLogger } from '../../platform/logger.ts';
import { createPostgresLogTransport } from '../../platform/events/postgres-log/transport.ts';
import { eventLogMigrations } from '../../platform/events/postgres-log/migrations.ts';
import { allTopics } from '../../schema/events/topics.ts';
import { createTestDatabase } from '../support/stack.ts';

describe('the embedded event log’s retention', () => {
  let db: Database;
  const logger = createLogger({ service: 'test', level: 'silent' });

  beforeAll(async () => {
    const { url } = await createTestDatabase();
    db = await createDatabase({
      url,
      schema: 'eventlog',
      entities: [],
      migrations: eventLogMigrations,
      logger,
      poolSize: 2,
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('prunes messages older than their topic’s retention and keeps the rest', async () => {
    const log = createPostgresLogTransport({ db, logger, topicPrefix: 'retention.' });
    await log.ensureTopics(allTopics, 'create');
    const message = (topic: string, key: string) => ({ topic, key, value: '{}', headers: {} });
    await log.publish([
      message('task-events', 'old'),
      message('task-events', 'new'),
      message('dlq.task-events', 'old-dead'),
    ]);
    await db.orm.em
      .getConnection()
      .execute(
        `update eventlog.messages set created_at = now() - interval '8 days' where key in ('old', 'old-dead')`,
      );
    expect(await log.pruneExpired()).toBe(1);
    expect((await log.read('task-events', 10)).map((m) => m.key)).toEqual(['new']);
    // Dead letters are kept 30 days.
    expect((await log.read('dlq.task-events', 10)).map((m) => m.key)).toEqual(['old-dead']);
    await log.stop();
  });
});
