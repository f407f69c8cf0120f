import { Migration } from '@mikro-orm/migrations';
import { processedEventsMigrationSql } from '../../platform/events/consumer.ts';
import { outboxMigrationSql } from '../../platform/events/outbox.ts';

export class AuditInit extends Migration {
  override up(): void {
    this.addSql(`create table audit.records (
      id uuid primary key,
      event_id uuid not null unique,
      occurred_at timestamptz not null,
      -- When the audit writer stored it: recorded_at - occurred_at is the event's end-to-end delay.
      recorded_at timestamptz not null default clock_timestamp(),
      actor_id text not null,
      action text not null,
      entity_type text not null,
      entity_id text not null,
      outcome text not null check (outcome in ('success', 'failure', 'denied')),
      data jsonb not null default '{}')`);
    this.addSql('create index records_time on audit.records (occurred_at desc, id desc)');
    this.addSql('create index records_actor_time on audit.records (actor_id, occurred_at desc, id desc)');
    for (const sql of [...outboxMigrationSql('audit'), ...processedEventsMigrationSql('audit')])
      this.addSql(sql);
  }
}

/** Tamper evidence: records are chained by SHA-256 (see chain.ts); the head row serialises appends. */
export class AuditHashChain extends Migration {
  override up(): void {
    this.addSql(
      'alter table audit.records add column position bigint unique, add column prev_hash text, add column hash text',
    );
    this.addSql(`create table audit.chain_head (
      id int primary key check (id = 1),
      position bigint not null,
      hash text not null)`);
    this.addSql(`insert into audit.chain_head (id, position, hash) values (1, 0, '${'0'.repeat(64)}')`);
  }
}

export const auditMigrations = [
  { name: '0001_audit_init', class: AuditInit },
  { name: '0002_audit_hash_chain', class: AuditHashChain },
];
