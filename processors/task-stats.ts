import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../platform/events/envelope.ts';

/**
 * Tasks-domain projection behind `taskStats`: one row per task with its status, due time and
 * completion time (tasks.task_stats_items). Counts like "overdue" are computed from it at
 * read time (subgraphs/tasks/stats.ts), so they change as time passes without an event.
 */
export const taskStatsTypes = [
  'task.created',
  'task.updated',
  'task.completed',
  'task.reopened',
  'task.cancelled',
  'task.deleted',
] as const;

/** Status implied by the event type, for events that do not carry the task's state. */
const IMPLIED_STATUS: Record<string, string> = {
  'task.completed': 'done',
  'task.reopened': 'open',
  'task.cancelled': 'cancelled',
};

interface TaskState {
  taskId: string;
  status?: string;
  dueAt?: string | null;
  completedAt?: string | null;
}

export async function applyTaskStats(event: EventEnvelope, em: EntityManager): Promise<void> {
  const data = event.data as TaskState;
  const run = (sql: string, params: unknown[]) =>
    em.getConnection().execute(sql, params, 'all', em.getTransactionContext());
  if (event.type === 'task.deleted') {
    await run('delete from tasks.task_stats_items where task_id = ?', [data.taskId]);
    return;
  }
  const status = data.status ?? IMPLIED_STATUS[event.type] ?? null;
  // Events of one user arrive in order (keyed by user), so the latest state wins.
  // Fields an (older) event does not carry keep their value.
  await run(
    `insert into tasks.task_stats_items (task_id, owner_id, status, due_at, completed_at)
     values (?, ?, coalesce(?, 'open'), ?, ?)
     on conflict (task_id) do update set
       status = coalesce(?, tasks.task_stats_items.status),
       due_at = case when ? then excluded.due_at else tasks.task_stats_items.due_at end,
       completed_at = case when ? then excluded.completed_at else tasks.task_stats_items.completed_at end`,
    [
      data.taskId,
      event.userId,
      status,
      data.dueAt ?? null,
      data.completedAt ?? null,
      status,
      data.dueAt !== undefined,
      data.completedAt !== undefined,
    ],
  );
}
