import type { Database } from '../platform/db/orm.ts';
import { newEvent, type EventEnvelope } from '../platform/events/envelope.ts';
import { recordEventsBulk } from '../platform/events/outbox-bulk.ts';
import type { Logger } from '../platform/logger.ts';
import { createReminderNotifications } from './notifications.ts';

/**
 * Fires due reminders as `task.reminder` (reminder-events) from the durable schedule in
 * tasks.reminders. A reminder is claimed by setting fired_at in the same transaction that
 * writes its outbox row, with `for update skip locked`, so any number of schedulers fire each
 * reminder exactly once, and a crash before commit leaves it pending for the next one.
 *
 * Precision: a timer is armed for the earliest pending reminder; new or moved reminders
 * (written by the tasks subgraph, possibly in another process) are noticed by re-reading the
 * earliest one at least every `pollMs`. After downtime, the first cycle fires everything
 * missed, marked late.
 */

/** A reminder fired more than this after its time is marked late. */
export const LATE_AFTER_MS = 5_000;

export interface ReminderSchedulerDeps {
  db: Database;
  logger: Logger;
  /** Wakes the tasks outbox relay after a batch committed. */
  wakeRelay(): void;
  /** Longest sleep before looking for new earlier reminders (default 500 ms). */
  pollMs?: number;
  /** Reminders fired per transaction (default 500). */
  batchSize?: number;
}

export interface ReminderScheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Fires every reminder due now; returns how many this instance fired. */
  fireDue(): Promise<number>;
  /** Re-reads the earliest pending reminder now (e.g. after one was scheduled in this process). */
  rearm(): void;
}

interface Claimed {
  id: string;
  task_id: string;
  owner_id: string;
  remind_at: Date;
  fired_at: Date;
  late: boolean;
  title: string;
  due_at: Date | null;
}

export function createReminderScheduler(deps: ReminderSchedulerDeps): ReminderScheduler {
  const log = deps.logger.child({ component: 'reminder-scheduler' });
  const pollMs = deps.pollMs ?? 500;
  const batchSize = deps.batchSize ?? 500;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let cycle: Promise<void> | undefined;
  let failures = 0;

  async function fireBatch(): Promise<number> {
    const em = deps.db.fork();
    const claimed = await em.transactional(async (tx) => {
      const rows = await tx.getConnection().execute<Claimed[]>(
        `update tasks.reminders r
            set fired_at = clock_timestamp(),
                late = clock_timestamp() - r.remind_at > (? * interval '1 millisecond')
           from tasks.tasks t
          where r.id in (select id from tasks.reminders
                          where fired_at is null and cancelled_at is null and remind_at <= clock_timestamp()
                          order by remind_at limit ${batchSize}
                          for update skip locked)
            and t.id = r.task_id
      returning r.id, r.task_id, r.owner_id, r.remind_at, r.fired_at, r.late, t.title, t.due_at`,
        [LATE_AFTER_MS],
        'all',
        tx.getTransactionContext(),
      );
      // `returning` has no order; events (and so a user's notifications) follow the due times.
      rows.sort(
        (a, b) =>
          new Date(a.remind_at).getTime() - new Date(b.remind_at).getTime() || a.id.localeCompare(b.id),
      );
      const fired: Parameters<typeof createReminderNotifications>[1] = [];
      const events: EventEnvelope[] = [];
      for (const r of rows) {
        const dueAt = r.due_at ? new Date(r.due_at).toISOString() : null;
        const event = newEvent({
          type: 'task.reminder',
          source: 'processors.reminder-scheduler',
          subject: r.id,
          userId: r.owner_id,
          actor: { via: 'system' },
          data: {
            reminderId: r.id,
            taskId: r.task_id,
            title: r.title,
            remindAt: new Date(r.remind_at).toISOString(),
            firedAt: new Date(r.fired_at).toISOString(),
            late: r.late,
            dueAt,
          },
        });
        events.push(event);
        fired.push({ ownerId: r.owner_id, taskId: r.task_id, title: r.title, dueAt, eventId: event.id });
      }
      await recordEventsBulk(tx, 'tasks', events);
      // The user's notification is part of the same transaction: fired once, notified once.
      await createReminderNotifications(tx, fired);
      return rows;
    });
    if (claimed.length > 0) {
      deps.wakeRelay();
      const late = claimed.filter((r) => r.late).length;
      if (late > 0) log.info({ fired: claimed.length, late }, 'late reminders fired');
    }
    return claimed.length;
  }

  async function fireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await fireBatch();
      total += n;
      if (n < batchSize) return total;
    }
  }

  /** Milliseconds until the earliest pending reminder (negative when already due), or null. */
  async function untilNext(): Promise<number | null> {
    const [row] = await deps.db.orm.em.getConnection().execute<{ ms: string | null }[]>(
      `select (extract(epoch from min(remind_at) - clock_timestamp()) * 1000)::text as ms
           from tasks.reminders where fired_at is null and cancelled_at is null`,
    );
    return row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
  }

  function arm(delayMs: number) {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      cycle = runCycle();
    }, delayMs);
  }

  async function runCycle(): Promise<void> {
    try {
      await fireDue();
      const next = await untilNext();
      if (failures > 0) log.info({ after: failures }, 'reminder scheduler working again');
      failures = 0;
      // Wake exactly at the next due time when it is near; otherwise look again within pollMs.
      arm(next === null ? pollMs : Math.max(0, Math.min(pollMs, Math.ceil(next))));
    } catch (error) {
      failures += 1;
      if (failures === 1 || failures % 20 === 0)
        log.warn({ err: error, failures }, 'reminder scheduler cycle failed');
      arm(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
    }
  }

  return {
    start() {
      running = true;
      // Catch-up: the first cycle fires everything that fell due while no scheduler ran.
      cycle = runCycle();
      return Promise.resolve();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await cycle;
      clearTimeout(timer);
    },
    fireDue,
    rearm() {
      if (running) arm(0);
    },
  };
}
