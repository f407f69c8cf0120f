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

export const tasksMigrations = [{ name: '0001_tasks_init', class: TasksInit }];
