import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendToChain } from './chain-writer.ts';
import { insertDigest } from './digests.ts';
import type { AuditSigner } from './signing.ts';

/** Records under an active legal hold: every matcher the hold names must match. */
const HELD = `exists (select 1 from audit.legal_holds h where h.released_at is null
  and (h.actor_id is null or h.actor_id = r.actor_id)
  and (h.entity_type is null or h.entity_type = r.entity_type)
  and (h.entity_id is null or h.entity_id = r.entity_id))`;

const BATCH = 5000;

export interface PurgeResult {
  purged: number;
  ranges: { fromPosition: string; toPosition: string; digestId: string }[];
}

interface Island {
  fromPosition: string;
  toPosition: string;
  recordCount: string;
  fromTime: Date;
  toTime: Date;
  firstPrevHash: string;
  lastHash: string;
}

/**
 * Deletes records that occurred before `before` and are not under a legal hold, in batches.
 * Each contiguous purged range keeps a signed digest (its first prevHash and last hash), so
 * the chain still verifies across the gap, and the purge itself is appended to the chain.
 * Runs in the caller's transaction; the chain head lock serialises it with the audit writer.
 */
export async function purgeBefore(
  em: EntityManager,
  signer: AuditSigner,
  options: { before: Date; actorId: string; always?: boolean },
): Promise<PurgeResult> {
  const exec = <T extends object[]>(sql: string, params: unknown[]) =>
    em.getConnection().execute<T>(sql, params, 'all', em.getTransactionContext());
  const result: PurgeResult = { purged: 0, ranges: [] };
  for (;;) {
    // Gaps and islands: consecutive positions among the purgeable records form one range.
    const islands = await exec<Island[]>(
      `with purgeable as (
         select position, prev_hash, hash, occurred_at from audit.records r
         where r.occurred_at < ? and r.action <> 'audit.purged' and not ${HELD}
         order by position limit ${BATCH})
       select min(position)::text as "fromPosition", max(position)::text as "toPosition",
         count(*)::text as "recordCount", min(occurred_at) as "fromTime", max(occurred_at) as "toTime",
         (array_agg(prev_hash order by position))[1] as "firstPrevHash",
         (array_agg(hash order by position desc))[1] as "lastHash"
       from (select *, position - row_number() over (order by position) as island from purgeable) p
       group by island order by min(position)`,
      [options.before],
    );
    if (islands.length === 0) break;
    for (const island of islands) {
      const digest = await insertDigest(em, signer, { kind: 'purge', ...island });
      await exec('delete from audit.records where position between ? and ?', [
        island.fromPosition,
        island.toPosition,
      ]);
      result.purged += Number(island.recordCount);
      result.ranges.push({
        fromPosition: island.fromPosition,
        toPosition: island.toPosition,
        digestId: digest.id,
      });
    }
  }
  if (result.purged > 0 || options.always) {
    await appendToChain(em, {
      id: randomUUID(),
      eventId: randomUUID(),
      occurredAt: new Date(),
      actorId: options.actorId,
      action: 'audit.purged',
      entityType: 'audit-trail',
      entityId: 'audit',
      outcome: 'success',
      data: {
        before: options.before.toISOString(),
        purged: result.purged,
        ranges: result.ranges.slice(0, 100),
      },
      actorKind: options.actorId === 'system' ? 'system' : 'jwt',
      changes: null,
    });
  }
  return result;
}
