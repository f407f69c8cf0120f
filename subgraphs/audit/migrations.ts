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

/**
 * Who and from where (actor kind, API key, IP, user agent, request and trace ids), what changed
 * (redacted before/after), and a full-text index over the record for admin search.
 */
export class AuditContext extends Migration {
  override up(): void {
    this.addSql(`alter table audit.records
      add column actor_kind text not null default 'system',
      add column api_key_id text,
      add column ip text,
      add column user_agent text,
      add column request_id text,
      add column trace_id text,
      add column changes jsonb`);
    this.addSql(`alter table audit.records add column search tsvector generated always as (
      to_tsvector('simple',
        action || ' ' || entity_type || ' ' || entity_id || ' ' || actor_id || ' ' ||
        coalesce(ip, '') || ' ' || data::text || ' ' || coalesce(changes::text, ''))) stored`);
    this.addSql('create index records_search on audit.records using gin (search)');
    this.addSql(
      'create index records_action_time on audit.records (action text_pattern_ops, occurred_at desc)',
    );
    this.addSql('create index records_entity_time on audit.records (entity_id, occurred_at desc, id desc)');
    // Failures and denials are rare and looked for often: a small index of their own.
    this.addSql(
      "create index records_unsuccessful_time on audit.records (outcome, occurred_at desc, id desc) where outcome <> 'success'",
    );
  }
}

/**
 * Signed digests over ranges of the chain (periodic, and one per purged range so the chain
 * stays verifiable after its records are gone) and legal holds that exempt records from purge.
 */
export class AuditDigestsAndHolds extends Migration {
  override up(): void {
    this.addSql(`create table audit.digests (
      id uuid primary key,
      kind text not null check (kind in ('periodic', 'purge')),
      from_position bigint not null,
      to_position bigint not null check (to_position >= from_position),
      first_prev_hash text not null,
      last_hash text not null,
      record_count bigint not null,
      from_time timestamptz not null,
      to_time timestamptz not null,
      created_at timestamptz not null,
      key_id text not null,
      signature text not null)`);
    this.addSql('create index digests_kind_to on audit.digests (kind, to_position desc)');
    this.addSql('create index digests_time on audit.digests (from_time, to_time)');
    this.addSql(`create table audit.legal_holds (
      id uuid primary key,
      actor_id text,
      entity_type text,
      entity_id text,
      reason text not null,
      placed_by text not null,
      placed_at timestamptz not null,
      released_by text,
      released_at timestamptz,
      check (actor_id is not null or entity_type is not null or entity_id is not null))`);
  }
}

export const auditMigrations = [
  { name: '0001_audit_init', class: AuditInit },
  { name: '0002_audit_hash_chain', class: AuditHashChain },
  { name: '0003_audit_context', class: AuditContext },
  { name: '0004_audit_digests_and_holds', class: AuditDigestsAndHolds },
];
