import { Migration } from '@mikro-orm/migrations';

/** Attachments: one row per object a client uploads for a message (docs/sessions-storage.md). */
export class SessionsAttachments extends Migration {
  override up(): void {
    // No foreign keys to messages/sessions: rows outlive a deleted message until their object is
    // removed too (removeSessionAttachments, or the orphan sweep), so no object is ever leaked.
    this.addSql(`create table sessions.attachments (
      id uuid primary key,
      session_id uuid not null,
      message_id uuid not null,
      owner_id text not null,
      object_key text not null unique,
      filename text not null,
      content_type text not null,
      size_bytes int not null check (size_bytes >= 0),
      sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
      status text not null check (status in ('pending', 'ready', 'archived')),
      created_at timestamptz not null,
      confirmed_at timestamptz)`);
    this.addSql('create index attachments_message on sessions.attachments (message_id)');
    this.addSql('create index attachments_session on sessions.attachments (session_id)');
    this.addSql(
      `create index attachments_pending on sessions.attachments (created_at) where status = 'pending'`,
    );
  }
}

/** Exports: which objects were written for whom, so they can be expired. */
export class SessionsExports extends Migration {
  override up(): void {
    this.addSql(`create table sessions.exports (
      id uuid primary key,
      owner_id text not null,
      object_key text not null unique,
      format text not null check (format in ('JSON', 'MARKDOWN')),
      session_id uuid,
      session_count int not null,
      message_count int not null,
      created_at timestamptz not null)`);
    this.addSql('create index exports_created on sessions.exports (created_at)');
  }
}

/**
 * Retention runs and their batches: a batch is recorded (ids + object key) before its object is
 * written, and its rows are deleted in the same transaction that marks it archived, so a run
 * that crashed anywhere resumes by redoing exactly its open batch.
 */
export class SessionsRetention extends Migration {
  override up(): void {
    this.addSql(`create table sessions.retention_runs (
      id uuid primary key,
      cutoff timestamptz not null,
      status text not null check (status in ('running', 'done')),
      started_at timestamptz not null,
      finished_at timestamptz,
      lease_owner text,
      lease_until timestamptz,
      batch_count int not null default 0,
      message_count int not null default 0)`);
    this.addSql(
      `create unique index retention_runs_one_running on sessions.retention_runs ((true)) where status = 'running'`,
    );
    this.addSql(`create table sessions.retention_batches (
      run_id uuid not null references sessions.retention_runs (id),
      seq int not null,
      object_key text not null unique,
      message_ids jsonb not null,
      status text not null check (status in ('pending', 'archived')),
      message_count int,
      created_at timestamptz not null,
      archived_at timestamptz,
      primary key (run_id, seq))`);
    this.addSql('create index messages_created on sessions.messages (created_at, id)');
  }
}

export const sessionsStorageMigrations = [
  { name: '0100_attachments', class: SessionsAttachments },
  { name: '0101_exports', class: SessionsExports },
  { name: '0102_retention', class: SessionsRetention },
];
