import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../../platform/db/orm.ts';
import { newEvent } from '../../platform/events/envelope.ts';
import { recordEvent } from '../../platform/events/outbox.ts';
import type { Logger } from '../../platform/logger.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import type { StorageLimits } from './storage-limits.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionBatch {
  runId: string;
  seq: number;
  objectKey: string;
  messageIds: string[];
}

export interface RetentionResult {
  runId: string | null;
  /** Set when another worker holds the open run (its lease has not expired). */
  skipped?: string;
  cutoff?: string;
  batches: number;
  messages: number;
  objectKeys: string[];
}

export interface RetentionDeps {
  db: Database;
  objects: ObjectStore;
  logger: Logger;
  limits: Pick<StorageLimits, 'retentionMaxAgeDays' | 'retentionBatchSize'>;
  /** Identifies this worker in the run's lease (one run at a time, across replicas). */
  workerId?: string;
  leaseMs?: number;
  /** Called between writing a batch's object and deleting its rows (tests inject crashes here). */
  afterUpload?: (batch: RetentionBatch) => Promise<void>;
}

interface RunRow {
  id: string;
  cutoff: Date;
}

/**
 * Archives messages older than the retention age to object storage (gzip NDJSON, one object per
 * batch) and deletes them. Each batch is recorded (message ids, object key) before its object is
 * written; its rows are deleted in the transaction that marks it archived. A run that stopped
 * anywhere is resumed by the next `run()`: an open batch is written again under the same key with
 * the rows that are still there, so every message ends up in exactly one archive object.
 */
export function createRetention(deps: RetentionDeps) {
  const workerId = deps.workerId ?? `retention-${randomUUID()}`;
  const leaseMs = deps.leaseMs ?? 60_000;
  const logger = deps.logger.child({ job: 'retention' });

  async function claimRun(em: EntityManager, now: Date): Promise<RunRow | string> {
    const leaseUntil = new Date(Date.now() + leaseMs);
    const [open] = await em.execute<{ id: string; lease_owner: string | null; lease_until: Date | null }[]>(
      `select id, lease_owner, lease_until from sessions.retention_runs where status = 'running'`,
    );
    if (open) {
      const [claimed] = await em.execute<{ id: string; cutoff: Date }[]>(
        `update sessions.retention_runs set lease_owner = ?, lease_until = ?
         where id = ? and (lease_until is null or lease_until < now() or lease_owner = ?)
         returning id, cutoff`,
        [workerId, leaseUntil, open.id, workerId],
      );
      if (!claimed)
        return `run ${open.id} is held by ${open.lease_owner ?? '?'} until ${String(open.lease_until)}`;
      logger.info({ runId: claimed.id }, 'resuming retention run');
      return claimed;
    }
    const cutoff = new Date(now.getTime() - deps.limits.retentionMaxAgeDays * DAY_MS);
    const [created] = await em.execute<{ id: string; cutoff: Date }[]>(
      `insert into sessions.retention_runs (id, cutoff, status, started_at, lease_owner, lease_until)
       values (?, ?, 'running', now(), ?, ?) on conflict do nothing returning id, cutoff`,
      [randomUUID(), cutoff, workerId, leaseUntil],
    );
    return created ?? 'another worker started a run at the same moment';
  }

  async function renewLease(em: EntityManager, runId: string) {
    const [row] = await em.execute<{ id: string }[]>(
      `update sessions.retention_runs set lease_until = ? where id = ? and lease_owner = ? returning id`,
      [new Date(Date.now() + leaseMs), runId, workerId],
    );
    if (!row) throw new Error(`retention run ${runId}: lease lost to another worker`);
  }

  /** The open batch of the run, or a new one of the oldest remaining messages (null when done). */
  async function nextBatch(em: EntityManager, run: RunRow): Promise<RetentionBatch | null> {
    const [open] = await em.execute<{ seq: number; object_key: string; message_ids: string[] }[]>(
      `select seq, object_key, message_ids from sessions.retention_batches
       where run_id = ? and status = 'pending' order by seq limit 1`,
      [run.id],
    );
    if (open)
      return { runId: run.id, seq: open.seq, objectKey: open.object_key, messageIds: open.message_ids };
    const ids = await em.execute<{ id: string }[]>(
      `select id from sessions.messages where created_at < ? order by created_at, id limit ?`,
      [run.cutoff, deps.limits.retentionBatchSize],
    );
    if (ids.length === 0) return null;
    const [last] = await em.execute<{ seq: number }[]>(
      `select coalesce(max(seq), 0) + 1 as seq from sessions.retention_batches where run_id = ?`,
      [run.id],
    );
    const seq = Number(last?.seq ?? 1);
    const batch = {
      runId: run.id,
      seq,
      objectKey: `archives/messages/${run.cutoff.toISOString().slice(0, 10)}/${run.id}/${String(seq).padStart(6, '0')}.ndjson.gz`,
      messageIds: ids.map((r) => r.id),
    };
    await em.execute(
      `insert into sessions.retention_batches (run_id, seq, object_key, message_ids, status, created_at)
       values (?, ?, ?, ?::jsonb, 'pending', now())`,
      [run.id, seq, batch.objectKey, JSON.stringify(batch.messageIds)],
    );
    return batch;
  }

  /** One NDJSON line per message: the whole row, plus its attachments' rows (objects are kept). */
  async function archiveObject(em: EntityManager, batch: RetentionBatch): Promise<number> {
    const rows = await em.execute<{ line: string }[]>(
      `select (to_jsonb(m) || jsonb_build_object('attachments', coalesce(
                (select jsonb_agg(to_jsonb(a) order by a.created_at, a.id) from sessions.attachments a
                 where a.message_id = m.id and a.status = 'ready'), '[]'::jsonb)))::text as line
       from sessions.messages m
       where m.id in (select value::uuid from jsonb_array_elements_text(?::jsonb))
       order by m.created_at, m.id`,
      [JSON.stringify(batch.messageIds)],
    );
    const ndjson = rows.map((r) => `${r.line}\n`).join('');
    // Same rows → same bytes under the same key: writing it again after a crash is harmless.
    await deps.objects.put(batch.objectKey, gzipSync(ndjson), 'application/gzip');
    return rows.length;
  }

  async function deleteArchived(run: RunRow, batch: RetentionBatch) {
    const em = deps.db.fork();
    await em.transactional(async (tx) => {
      const deleted = await tx.execute<{ owner_id: string }[]>(
        `delete from sessions.messages
         where id in (select value::uuid from jsonb_array_elements_text(?::jsonb)) returning owner_id`,
        [JSON.stringify(batch.messageIds)],
      );
      await tx.execute(
        `update sessions.attachments set status = 'archived'
         where status = 'ready' and message_id in (select value::uuid from jsonb_array_elements_text(?::jsonb))`,
        [JSON.stringify(batch.messageIds)],
      );
      await tx.execute(
        `update sessions.retention_batches set status = 'archived', message_count = ?, archived_at = now()
         where run_id = ? and seq = ?`,
        [deleted.length, run.id, batch.seq],
      );
      await tx.execute(
        `update sessions.retention_runs set batch_count = batch_count + 1, message_count = message_count + ?
         where id = ?`,
        [deleted.length, run.id],
      );
      const perOwner = new Map<string, number>();
      for (const { owner_id } of deleted) perOwner.set(owner_id, (perOwner.get(owner_id) ?? 0) + 1);
      for (const [userId, messageCount] of perOwner)
        recordEvent(
          tx,
          newEvent({
            type: 'messages.archived',
            source: 'sessions.retention',
            subject: run.id,
            userId,
            data: {
              runId: run.id,
              objectKey: batch.objectKey,
              messageCount,
              cutoff: run.cutoff.toISOString(),
            },
            actor: { via: 'system' },
          }),
        );
    });
  }

  return {
    workerId,
    /** Runs (or resumes) retention until no message older than the cutoff is left. */
    async run(now = new Date()): Promise<RetentionResult> {
      const em = deps.db.fork();
      const claimed = await claimRun(em, now);
      if (typeof claimed === 'string') {
        logger.info({ reason: claimed }, 'retention skipped');
        return { runId: null, skipped: claimed, batches: 0, messages: 0, objectKeys: [] };
      }
      const run = { id: claimed.id, cutoff: new Date(claimed.cutoff) };
      const result: RetentionResult = {
        runId: run.id,
        cutoff: run.cutoff.toISOString(),
        batches: 0,
        messages: 0,
        objectKeys: [],
      };
      try {
        for (;;) {
          await renewLease(em, run.id);
          const batch = await nextBatch(em, run);
          if (!batch) break;
          const count = await archiveObject(em, batch);
          await deps.afterUpload?.(batch);
          await deleteArchived(run, batch);
          result.batches += 1;
          result.messages += count;
          result.objectKeys.push(batch.objectKey);
          logger.info(
            { runId: run.id, seq: batch.seq, messages: count, key: batch.objectKey },
            'batch archived',
          );
        }
        await em.execute(
          `update sessions.retention_runs set status = 'done', finished_at = now(), lease_owner = null,
           lease_until = null where id = ?`,
          [run.id],
        );
        return result;
      } catch (error) {
        // Let the next run (here or on another replica) resume at once rather than after the lease.
        await em
          .execute(`update sessions.retention_runs set lease_until = null where id = ? and lease_owner = ?`, [
            run.id,
            workerId,
          ])
          .catch(() => undefined);
        throw error;
      }
    },
  };
}
export type Retention = ReturnType<typeof createRetention>;
