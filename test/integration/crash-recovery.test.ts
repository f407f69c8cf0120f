import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Database } from '../../platform/db/orm.ts';
import { createTransport } from '../../platform/events/create-transport.ts';
import type { EventTransport } from '../../platform/events/transport.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { createLogger } from '../../platform/logger.ts';
import { asMessage, openEffectsDb } from '../support/effects.ts';
import { ROOT } from '../support/env.ts';
import { createTestDatabase, eventually, testConfig, uniqueName } from '../support/stack.ts';

describe('a consumer process killed mid-batch on the real Kafka broker', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  const config = testConfig();
  let url: string;
  let db: Database;
  let transport: EventTransport;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    url = (await createTestDatabase()).url;
    db = await openEffectsDb(url, logger);
    transport = await createTransport(config, { databaseUrl: url, logger });
  });
  afterAll(async () => {
    children.forEach((c) => c.kill('SIGKILL'));
    await transport?.stop();
    await db?.close();
  });

  async function startConsumerProcess(name: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [join(ROOT, 'test/support/consumer-process.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX,
        CONSUMER_NAME: name,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`consumer process exited with ${code}`)));
    });
    return child;
  }

  const counts = async () => {
    const [row] = await db.orm.em
      .getConnection()
      .execute<{ total: string; distinct: string }[]>(
        'select count(*)::text as total, count(distinct event_id)::text as distinct from sessions.test_effects',
      );
    return { total: Number(row?.total), distinct: Number(row?.distinct) };
  };

  it('applies every event exactly once after a SIGKILL and a restart', async () => {
    const name = uniqueName('killed-');
    const events = Array.from({ length: 300 }, (_, n) =>
      newEvent({
        type: 'task.completed',
        source: 'test',
        subject: `task-${n}`,
        userId: `user-${n % 30}`,
        data: { taskId: `task-${n}` },
      }),
    );
    await transport.publish(events.map(asMessage));

    const first = await startConsumerProcess(name);
    await eventually(
      async () => ((await counts()).total >= 60 ? true : undefined),
      60_000,
      '60 effects before the kill',
    );
    first.kill('SIGKILL');
    const atKill = await counts();
    expect(atKill.total).toBeLessThan(300);

    await startConsumerProcess(name);
    await eventually(
      async () => ((await counts()).distinct === 300 ? true : undefined),
      90_000,
      'all 300 effects',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await counts()).toEqual({ total: 300, distinct: 300 });
  });
});
