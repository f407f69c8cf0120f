import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Database } from '../../platform/db/orm.ts';
import { createLogger } from '../../platform/logger.ts';
import { createTransport } from '../../platform/events/create-transport.ts';
import type { DeliveredMessage, EventTransport } from '../../platform/events/transport.ts';
import { createConsumer, type ConsumerOptions } from '../../platform/events/consumer.ts';
import { createDlqTools } from '../../platform/events/dlq.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { asMessage, openEffectsDb, recordEffect } from '../support/effects.ts';
import { createTestDatabase, eventually, testConfig, uniqueName } from '../support/stack.ts';

const messageFor = (key: string, n: number) => ({
  topic: 'task-events',
  key,
  value: JSON.stringify({ key, n }),
  headers: { n: String(n) },
});

const taskEvent = (userId: string, taskId: string) =>
  newEvent({ type: 'task.completed', source: 'test', subject: taskId, userId, data: { taskId } });

/** One contract, two transports: a processor cannot tell Kafka from the embedded event log. */
export function describeTransportContract(kind: 'kafka' | 'embedded') {
  describe(`the ${kind === 'kafka' ? 'Kafka' : 'embedded event log'} transport`, () => {
    let transport: EventTransport;
    let db: Database;
    const logger = createLogger({ service: 'test', level: 'silent' });

    /** A consumer of task.completed events on task-events, starting at the end. */
    const taskConsumer = (name: string, rest: Pick<ConsumerOptions, 'handle'> & Partial<ConsumerOptions>) =>
      createConsumer({
        name,
        topics: ['task-events'],
        types: ['task.completed'],
        db,
        transport,
        logger,
        fromBeginning: false,
        ...rest,
      });

    beforeAll(async () => {
      const { url } = await createTestDatabase();
      const config = testConfig(kind === 'embedded' ? { KAFKA_BROKERS: '' } : {});
      transport = await createTransport(config, { databaseUrl: url, logger });
      db = await openEffectsDb(url, logger);
    });
    afterAll(async () => {
      await transport?.stop();
      await db?.close();
    });

    it('delivers each key’s messages in the order they were published', async () => {
      const seen: DeliveredMessage[] = [];
      const sub = await transport.subscribe({
        groupId: uniqueName('order-'),
        topics: ['task-events'],
        fromBeginning: true,
        handle: async (m) => void seen.push(m),
      });
      const keys = ['ann', 'ben', 'cy'];
      for (let n = 0; n < 20; n += 1) await transport.publish(keys.map((k) => messageFor(`order-${k}`, n)));
      await eventually(
        async () => (seen.filter((m) => m.key.startsWith('order-')).length >= 60 ? true : undefined),
        20_000,
        '60 messages',
      );
      for (const k of keys) {
        const ns = seen
          .filter((m) => m.key === `order-${k}`)
          .map((m) => (JSON.parse(m.value) as { n: number }).n);
        expect(ns).toEqual([...Array(20).keys()]);
      }
      await sub.stop();
    });

    it('redelivers a message whose handler failed, and only then moves on', async () => {
      const seen: string[] = [];
      let failed = false;
      const sub = await transport.subscribe({
        groupId: uniqueName('redeliver-'),
        topics: ['task-events'],
        fromBeginning: false,
        handle: async (m) => {
          if (!m.key.startsWith('redeliver')) return;
          if (m.headers.n === '1' && !failed) {
            failed = true;
            throw new Error('transient');
          }
          seen.push(m.headers.n!);
        },
      });
      await transport.publish([0, 1, 2].map((n) => messageFor('redeliver', n)));
      await eventually(async () => (seen.length >= 3 ? true : undefined), 30_000, 'three handled messages');
      expect(seen).toEqual(['0', '1', '2']);
      await sub.stop();
    });

    it('resumes a group from its last committed offset', async () => {
      const group = uniqueName('resume-');
      const first: string[] = [];
      let sub = await transport.subscribe({
        groupId: group,
        topics: ['task-events'],
        fromBeginning: false,
        handle: async (m) => void (m.key === 'resume' && first.push(m.headers.n!)),
      });
      await transport.publish([0, 1, 2].map((n) => messageFor('resume', n)));
      await eventually(async () => (first.length === 3 ? true : undefined), 20_000, 'first three');
      await sub.stop();
      await transport.publish([3, 4].map((n) => messageFor('resume', n)));
      const second: string[] = [];
      sub = await transport.subscribe({
        groupId: group,
        topics: ['task-events'],
        fromBeginning: false,
        handle: async (m) => void (m.key === 'resume' && second.push(m.headers.n!)),
      });
      await eventually(async () => (second.length >= 2 ? true : undefined), 30_000, 'the two new messages');
      expect(second).toEqual(['3', '4']);
      await sub.stop();
    });

    it('applies an event delivered twice only once', async () => {
      const name = uniqueName('once-');
      const consumer = taskConsumer(name, {
        handle: recordEffect,
      });
      await consumer.start();
      const event = taskEvent('once-user', 'task-once');
      await transport.publish([asMessage(event)]);
      await transport.publish([asMessage(event)]);
      const marker = taskEvent('once-user', 'task-after');
      await transport.publish([asMessage(marker)]);
      const conn = db.orm.em.getConnection();
      await eventually(
        async () =>
          (await conn.execute(`select 1 from sessions.test_effects where task_id = 'task-after'`)).length ===
          1
            ? true
            : undefined,
        20_000,
        'the marker effect',
      );
      const rows = await conn.execute<{ count: string }[]>(
        `select count(*)::text as count from sessions.test_effects where task_id = 'task-once'`,
      );
      expect(rows[0]?.count).toBe('1');
      await consumer.stop();
    });

    it('dead-letters a poison message and a handler that keeps failing, with the error details, and moves on', async () => {
      const name = uniqueName('poison-');
      const handled: string[] = [];
      const consumer = taskConsumer(name, {
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
        handle: async (event) => {
          if (event.subject === 'task-cursed') throw new Error('handler cannot apply this');
          handled.push(event.subject);
          await Promise.resolve();
        },
      });
      const dead: DeliveredMessage[] = [];
      const dlq = await transport.subscribe({
        groupId: uniqueName('dlq-reader-'),
        topics: ['dlq.task-events'],
        fromBeginning: true,
        handle: async (m) => void dead.push(m),
      });
      await consumer.start();
      const started = Date.now();
      const cursed = taskEvent('poison-user', 'task-cursed');
      const fine = taskEvent('poison-user', 'task-fine');
      await transport.publish([
        { topic: 'task-events', key: 'poison-user', value: '{not json', headers: {} },
        asMessage(cursed),
        asMessage(fine),
      ]);
      await eventually(
        async () =>
          dead.filter((m) => m.headers['x-consumer'] === name).length >= 2 && handled.includes('task-fine')
            ? true
            : undefined,
        60_000,
        'two dead letters and the next event handled',
      );
      expect(Date.now() - started).toBeLessThan(60_000);
      const [poison, failing] = dead.filter((m) => m.headers['x-consumer'] === name);
      expect(poison?.headers).toMatchObject({
        'x-error-class': 'InvalidEventError',
        'x-error-message': 'message value is not JSON',
        'x-origin-topic': 'task-events',
      });
      expect(failing?.headers).toMatchObject({
        'x-error-message': 'handler cannot apply this',
        'x-attempts': '3',
        'x-origin-topic': 'task-events',
        ce_id: cursed.id,
      });
      expect(failing?.headers['x-origin-offset']).toMatch(/^\d+$/);
      expect(failing?.headers['x-first-failure']).toBeDefined();
      await consumer.stop();
      await dlq.stop();
    });

    it('replays a dead letter once its cause is fixed, and the effect is applied', async () => {
      const name = uniqueName('replay-');
      let broken = true;
      const consumer = taskConsumer(name, {
        retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
        handle: async (event, em) => {
          if (event.subject !== 'task-replayed') return;
          if (broken) throw new Error('downstream rejected it');
          await recordEffect(event, em);
        },
      });
      await consumer.start();
      const event = taskEvent('replay-user', 'task-replayed');
      await transport.publish([asMessage(event)]);
      const dlq = createDlqTools(transport);
      const letter = await eventually(
        async () => (await dlq.list('task-events')).find((d) => d.eventId === event.id),
        60_000,
        'the dead letter',
      );
      expect(letter).toMatchObject({
        consumer: name,
        attempts: 2,
        error: 'downstream rejected it',
        type: 'task.completed',
      });
      broken = false;
      expect(await dlq.replay('task-events', { positions: [letter.position] })).toBe(1);
      const conn = db.orm.em.getConnection();
      await eventually(
        async () =>
          (await conn.execute(`select 1 from sessions.test_effects where task_id = 'task-replayed'`))
            .length === 1
            ? true
            : undefined,
        30_000,
        'the replayed effect',
      );
      await consumer.stop();
    });

    it('splits one group’s events between two consumers, each event applied by exactly one', async () => {
      const name = uniqueName('pair-');
      // The effect is written in the handler's transaction: a delivery repeated while the group
      // rebalances may run a handler twice, but only one of the two can commit.
      const make = (label: string) =>
        taskConsumer(name, {
          handle: async (event, tx) => {
            if (!event.subject.startsWith('pair-')) return;
            await tx
              .getConnection()
              .execute(
                'insert into sessions.test_effects (event_id, task_id) values (?, ?)',
                [event.id, `${label}:${event.subject}`],
                'all',
                tx.getTransactionContext(),
              );
          },
        });
      const [a, b] = [make('a'), make('b')];
      await Promise.all([a.start(), b.start()]);
      const events = Array.from({ length: 60 }, (_, n) => taskEvent(`pair-user-${n % 12}`, `pair-${n}`));
      await transport.publish(events.map(asMessage));
      const applied = async () =>
        (
          await db.orm.em
            .getConnection()
            .execute<{ event_id: string; task_id: string }[]>(
              `select event_id::text, task_id from sessions.test_effects where task_id like '_:pair-%'`,
            )
        ).filter((row) => events.some((e) => e.id === row.event_id));
      await eventually(
        async () => ((await applied()).length >= 60 ? true : undefined),
        60_000,
        'all 60 events applied',
      );
      await Promise.all([a.stop(), b.stop()]);
      const rows = await applied();
      expect(rows).toHaveLength(60);
      expect(new Set(rows.map((r) => r.event_id)).size).toBe(60);
    });

    it('reports lag that rises with a backlog and returns to zero once consumed', async () => {
      const name = uniqueName('lag-');
      const consumer = createConsumer({
        name,
        topics: ['reminder-events'],
        types: ['task.completed'],
        db,
        transport,
        logger,
        fromBeginning: false,
        handle: async () => undefined,
      });
      await consumer.start();
      await consumer.stop();
      const backlog = Array.from({ length: 40 }, (_, n) => taskEvent('lag-user', `lag-${n}`));
      await transport.publish(backlog.map((e) => ({ ...asMessage(e), topic: 'reminder-events' })));
      const total = async () => (await consumer.lag()).reduce((n, p) => n + p.lag, 0);
      expect(await total()).toBeGreaterThanOrEqual(40);
      await consumer.start();
      await eventually(async () => ((await total()) === 0 ? true : undefined), 30_000, 'lag back to zero');
      await consumer.stop();
    });
  });
}
