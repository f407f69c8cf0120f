import type { EntityManager } from '@mikro-orm/postgresql';
import { dayBounds } from './time.ts';

/**
 * Per-user task stats from the task_stats_items projection (kept by processors/task-stats.ts).
 * The projection stores due and completion times; "overdue" and "due today" are decided at
 * read time, so they stay right as time passes without any event.
 */
export async function readTaskStats(em: EntityManager, ownerId: string, zone: string, now = new Date()) {
  const { start, end } = dayBounds(zone, now);
  const [row] = await em
    .getConnection()
    .execute<{ open: string; overdue: string; due_today: string; completed: string }[]>(
      `select
       count(*) filter (where status = 'open')::text as open,
       count(*) filter (where status = 'open' and due_at < ?)::text as overdue,
       count(*) filter (where status = 'open' and due_at >= ? and due_at < ?)::text as due_today,
       count(*) filter (where status = 'done' and completed_at >= ?)::text as completed
     from tasks.task_stats_items where owner_id = ?`,
      [now, start, end, new Date(now.getTime() - 7 * 24 * 3600 * 1000), ownerId],
    );
  return {
    open: Number(row?.open ?? 0),
    overdue: Number(row?.overdue ?? 0),
    dueToday: Number(row?.due_today ?? 0),
    completedLast7Days: Number(row?.completed ?? 0),
  };
}
