import { Migration } from '@mikro-orm/migrations';

export class EventLogInit extends Migration {
  override up(): void {
    this.addSql(`create table if not exists eventlog.messages (
      id bigserial primary key,
      topic text not null,
      partition int not null,
      key text not null,
      value text not null,
      headers jsonb not null default '{}',
      created_at timestamptz not null default now())`);
    this.addSql('create index if not exists messages_topic_id on eventlog.messages (topic, id)');
    this.addSql(`create table if not exists eventlog.group_offsets (
      group_id text not null,
      topic text not null,
      partition int not null,
      next_id bigint not null,
      primary key (group_id, topic, partition))`);
    this.addSql(`create table if not exists eventlog.group_leases (
      group_id text primary key,
      owner text not null,
      expires_at timestamptz not null)`);
  }
}

export const eventLogMigrations = [{ name: '0001_event_log', class: EventLogInit }];
