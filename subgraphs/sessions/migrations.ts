import { Migration } from '@mikro-orm/migrations';
import { outboxMigrationSql } from '../../platform/events/outbox.ts';
import { processedEventsMigrationSql } from '../../platform/events/consumer.ts';

export class SessionsInit extends Migration {
  override up(): void {
    this.addSql(`create table sessions.sessions (
      id uuid primary key,
      owner_id text not null,
      title text not null,
      created_at timestamptz not null,
      updated_at timestamptz not null)`);
    this.addSql(
      'create index sessions_owner_created on sessions.sessions (owner_id, created_at desc, id desc)',
    );
    this.addSql(`create table sessions.messages (
      id uuid primary key,
      session_id uuid not null references sessions.sessions (id) on delete cascade,
      owner_id text not null,
      role text not null check (role in ('user', 'assistant', 'system', 'tool')),
      content text not null,
      created_at timestamptz not null)`);
    this.addSql('create index messages_session_created on sessions.messages (session_id, created_at, id)');
    this.addSql(`create table sessions.session_stats (
      session_id uuid primary key,
      owner_id text not null,
      message_count int not null default 0,
      last_activity_at timestamptz,
      last_message_preview varchar(280))`);
    for (const sql of [...outboxMigrationSql('sessions'), ...processedEventsMigrationSql('sessions')])
      this.addSql(sql);
  }
}

export const sessionsMigrations = [{ name: '0001_sessions_init', class: SessionsInit }];
