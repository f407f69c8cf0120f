import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDatabase, type Database } from '../../platform/db/orm.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { createOutboxRelay } from '../../platform/events/outbox.ts';
import { createPostgresLogTransport } from '../../platform/events/postgres-log/transport.ts';
import { eventLogMigrations } from '../../platform/events/postgres-log/migrations.ts';
import { createLogger } from '../../platform/logger.ts';
import { sessionsEntities } from '../../subgraphs/sessions/entities.ts';
import { sessionsMigrations } from '../../subgraphs/sessions/migrations.ts';
import { createTestDatabase, eventually } from '../support/stack.ts';

describe('the outbox relay under concurrent commits', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  let url: string;
  let sessionsDb: Database;
  let logDb: Database;

  beforeAll(async () => {
    url = (await createTestDatabase()).url;
    sessionsDb = await createDatabase({
      url,
      schema: 'sessions',
      entities: sessionsEntities,
      migrations: sessionsMigrations,
      logger,
      poolSize: 4,
    });
    logDb = await createDatabase({
      url,
      schema: 'eventlog',
      entities: [],
      migrations: eventLogMigrations,
      logger,
      poolSize: 4,
    });
  });
  afterAll(async () => {
    await sessionsDb?.close();
    await logDb?.close();
  });

  it('publishes every row, including rows whose transactions commit out of seq order', async () => {
    const transport = createPostgresLogTransport({ db: logDb, logger, topicPrefix: 'relay.' });
    const relay = createOutboxRelay({ db: sessionsDb, schema: 'sessions', transport, logger, sweepMs: 5 });
    await relay.start();
    const pool = new pg.Pool({ connectionString: url, max: 12 });
    const writers = Array.from({ length: 12 }, async (_, w) => {
      for (let i = 0; i < 25; i += 1) {
        const e = newEvent({
          type: 'session.created',
          source: 'test',
          subject: `s-${w}-${i}`,
          userId: `writer-${w}`,
          data: { sessionId: `s-${w}-${i}`, title: 't' },
        });
        const client = await pool.connect();
        try {
          await client.query('begin');
          await client.query(
            `insert into sessions.outbox (event_id, topic, key, payload, headers) values ($1, 'session-events', $2, $3, '{}')`,
            [e.id, e.userId, JSON.stringify(e)],
          );
          // Holding the transaction open a little lets later seqs commit first.
          await client.query('select pg_sleep($1)', [Math.random() * 0.01]);
          await client.query('commit');
        } finally {
          client.release();
        }
        relay.wake();
      }
    });
    await Promise.all(writers);
    await pool.end();
    const published = await eventually(
      async () => {
        const rows = await transport.read('session-events', 10_000);
        return rows.length >= 300 ? rows : undefined;
      },
      20_000,
      'all 300 events published',
    );
    await relay.stop();
    expect(new Set(published.map((m) => (JSON.parse(m.value) as { id: string }).id)).size).toBe(300);
    expect((await relay.backlog()).count).toBe(0);
  });
});
