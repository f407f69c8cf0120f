import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../../platform/db/orm.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { recordEvent, type OutboxRelay } from '../../platform/events/outbox.ts';
import type { Logger } from '../../platform/logger.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { removeSessionAttachments } from './attachments.ts';

/**
 * Deletes a session's database rows for good: its messages, its stats projection row and the
 * session itself. Call it inside the transaction that records `session.purged`.
 */
export async function purgeSession(em: EntityManager, sessionId: string): Promise<{ messageCount: number }> {
  const connection = em.getConnection();
  const deleted = await connection.execute<{ n: number }[]>(
    'with d as (delete from sessions.messages where session_id = ? returning 1) select count(*)::int as n from d',
    [sessionId],
    'all',
    em.getTransactionContext(),
  );
  await connection.execute(
    'delete from sessions.session_stats where session_id = ?',
    [sessionId],
    'run',
    em.getTransactionContext(),
  );
  await connection.execute(
    'delete from sessions.sessions where id = ?',
    [sessionId],
    'run',
    em.getTransactionContext(),
  );
  return { messageCount: deleted[0]?.n ?? 0 };
}

/**
 * Purges every session deleted more than graceMs before `now`, a batch at a time, each in its
 * own transaction with its `session.purged` event. `skip locked` lets several replicas sweep
 * without purging one session twice; a session restored meanwhile no longer matches.
 * Attachment objects go first (see removeSessionAttachments): should the transaction fail, their
 * rows stay and are removed again by the next sweep, so no object outlives its session.
 */
export async function purgeExpiredSessions(
  db: Database,
  options: { graceMs: number; now?: Date; batch?: number; objects?: ObjectStore | undefined },
): Promise<string[]> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.graceMs);
  const purged: string[] = [];
  for (;;) {
    const em = db.fork();
    const ids = await em.transactional(async (tx) => {
      const rows = await tx.getConnection().execute<{ id: string; owner_id: string }[]>(
        `select id, owner_id from sessions.sessions where deleted_at is not null and deleted_at < ?
            order by deleted_at limit ${options.batch ?? 50} for update skip locked`,
        [cutoff],
        'all',
        tx.getTransactionContext(),
      );
      for (const row of rows) {
        if (options.objects) await removeSessionAttachments(tx, options.objects, row.id);
        const { messageCount } = await purgeSession(tx, row.id);
        recordEvent(
          tx,
          newEvent({
            type: 'session.purged',
            source: 'sessions.retention',
            subject: row.id,
            userId: row.owner_id,
            data: { sessionId: row.id, messageCount },
            actor: { via: 'system' },
          }),
        );
      }
      return rows.map((r) => r.id);
    });
    purged.push(...ids);
    if (ids.length === 0) return purged;
  }
}

/** The purge's timing from the process config (sessionsEnv). */
export function purgeTimingFrom(config: {
  SESSION_DELETE_GRACE_SECONDS: number;
  SESSION_PURGE_INTERVAL_SECONDS: number;
}) {
  return {
    graceMs: config.SESSION_DELETE_GRACE_SECONDS * 1000,
    intervalMs: config.SESSION_PURGE_INTERVAL_SECONDS * 1000,
  };
}

/**
 * Runs purgeExpiredSessions every intervalMs in the sessions service, which owns both the rows
 * and the attachment objects; the relay publishes the purge events.
 */
export function createSessionPurger(deps: {
  db: Database;
  relay: OutboxRelay;
  logger: Logger;
  /** Absent when S3 is not configured (then no attachment can exist). */
  objects?: ObjectStore | undefined;
  graceMs: number;
  intervalMs: number;
}) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      const purged = await purgeExpiredSessions(deps.db, { graceMs: deps.graceMs, objects: deps.objects });
      if (purged.length > 0) {
        deps.logger.info({ sessions: purged.length }, 'deleted sessions purged after their grace period');
        deps.relay.wake();
      }
    } catch (error) {
      deps.logger.error({ err: error }, 'session purge failed; retrying at the next sweep');
    }
  };
  return {
    sweep,
    start() {
      timer = setInterval(() => {
        running ??= sweep().finally(() => (running = undefined));
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
