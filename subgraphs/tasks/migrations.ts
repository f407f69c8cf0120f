import { Migration } from '@mikro-orm/migrations';
import { outboxMigrationSql } from '../../platform/events/outbox.ts';
import { processedEventsMigrationSql } from '../../platform/events/consumer.ts';

export class TasksInit extends Migration {
  override up(): void {
    this.addSql(`create table tasks.tasks (
      id uuid primary key,
      owner_id text not null,
      title text not null,
      status text not null default 'open' check (status in ('open', 'done', 'cancelled')),
      session_id uuid,
      created_at timestamptz not null,
      completed_at timestamptz)`);
    this.addSql('create index tasks_owner_created on tasks.tasks (owner_id, created_at desc, id desc)');
    this.addSql('create index tasks_session on tasks.tasks (session_id) where session_id is not null');
    for (const sql of [...outboxMigrationSql('tasks'), ...processedEventsMigrationSql('tasks')])
      this.addSql(sql);
  }
}

/**
 * Issue #5: the full task model (subtasks, recurrence series), reminders, notifications and the
 * per-user stats projection. Appended, never edited.
 */
export class TasksModel extends Migration {
  override up(): void {
    this.addSql(`alter table tasks.tasks
      add column description text,
      add column priority int not null default 3 check (priority between 1 and 4),
      add column labels text[] not null default '{}',
      add column due_at timestamptz,
      add column timezone text not null default 'UTC',
      add column parent_id uuid references tasks.tasks (id) on delete cascade,
      add column message_id uuid,
      add column rrule text,
      add column series_id uuid,
      add column series_start timestamptz,
      add column occurrence_at timestamptz,
      add column updated_at timestamptz not null default now(),
      add column cancelled_at timestamptz`);
    // The next occurrence of a series is created exactly once, however often completion is replayed.
    this.addSql(
      'create unique index tasks_series_occurrence on tasks.tasks (series_id, occurrence_at) where series_id is not null',
    );
    this.addSql('create index tasks_owner_due on tasks.tasks (owner_id, due_at) where due_at is not null');
    this.addSql('create index tasks_parent on tasks.tasks (parent_id) where parent_id is not null');
    this.addSql('create index tasks_labels on tasks.tasks using gin (labels)');
    this.addSql(`create table tasks.reminders (
      id uuid primary key,
      task_id uuid not null references tasks.tasks (id) on delete cascade deferrable initially deferred,
      owner_id text not null,
      offset_seconds int,
      remind_at timestamptz not null,
      fired_at timestamptz,
      late boolean not null default false,
      cancelled_at timestamptz,
      created_at timestamptz not null default now())`);
    // The scheduler's only hot query: the earliest pending reminders.
    this.addSql(
      'create index reminders_pending on tasks.reminders (remind_at) where fired_at is null and cancelled_at is null',
    );
    this.addSql('create index reminders_task on tasks.reminders (task_id)');
    this.addSql(`create table tasks.notifications (
      id uuid primary key,
      owner_id text not null,
      seq bigint not null,
      kind text not null,
      title text not null,
      body text,
      task_id uuid,
      source_event_id uuid not null unique,
      created_at timestamptz not null default now(),
      read_at timestamptz,
      unique (owner_id, seq))`);
    this.addSql(
      'create index notifications_unread on tasks.notifications (owner_id, seq) where read_at is null',
    );
    // Per-user position counter: notifications of one user get gapless, commit-ordered positions.
    this.addSql(`create table tasks.notification_counters (
      owner_id text primary key,
      last_seq bigint not null)`);
    // Stats projection: the facts the counts are computed from at read time, so "overdue" and
    // "due today" stay right as time passes without anyone touching the task.
    this.addSql(`create table tasks.task_stats_items (
      task_id uuid primary key,
      owner_id text not null,
      status text not null,
      due_at timestamptz,
      completed_at timestamptz)`);
    this.addSql('create index task_stats_items_owner on tasks.task_stats_items (owner_id, status, due_at)');
  }
}

export const tasksMigrations = [
  { name: '0001_tasks_init', class: TasksInit },
  { name: '0002_tasks_model', class: TasksModel },
];
