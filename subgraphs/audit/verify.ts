import type { EntityManager } from '@mikro-orm/postgresql';
import { checkHead, createTrailVerifier, type ChainedRecord, type Verification } from './chain.ts';
import { signedRanges } from './digests.ts';
import type { AuditSigner } from './signing.ts';

/** Records per round trip: enough to keep Postgres busy, few enough to keep memory flat. */
const BATCH = 5000;

const CHAINED_COLUMNS = `r.id, r.event_id as "eventId", r.occurred_at as "occurredAt", r.actor_id as "actorId",
  r.action, r.entity_type as "entityType", r.entity_id as "entityId", r.outcome, r.data,
  r.actor_kind as "actorKind", r.api_key_id as "apiKeyId", r.ip, r.user_agent as "userAgent",
  r.request_id as "requestId", r.trace_id as "traceId", r.changes, r.position::text as "position",
  r.prev_hash as "prevHash", r.hash`;

/**
 * Verifies the records that occurred in [from, to], a batch at a time as plain rows (no
 * entities: 1,000,000 records must not sit in memory, nor pay for hydration), then checks
 * that the newest link is the chain head the writer recorded.
 */
export async function verifyRange(
  em: EntityManager,
  signer: AuditSigner,
  from: Date,
  to: Date,
): Promise<Verification> {
  const connection = em.getConnection();
  const verifier = createTrailVerifier({
    purged: await signedRanges(em, signer, 'purge', from, to),
    digests: await signedRanges(em, signer, 'periodic', from, to),
  });
  let after = '0';
  let verification: Verification | undefined;
  while (!verification) {
    const rows = await connection.execute<(ChainedRecord & { occurredAt: Date | string })[]>(
      `select ${CHAINED_COLUMNS} from audit.records r
       where r.occurred_at >= ? and r.occurred_at <= ? and r.position > ?
       order by r.position limit ${BATCH}`,
      [from, to, after],
    );
    verification = verifier.add(rows.map((row) => ({ ...row, occurredAt: new Date(row.occurredAt) })));
    if (rows.length < BATCH) verification ??= verifier.finish();
    after = rows.at(-1)?.position ?? after;
  }
  const [ends] = await connection.execute<
    { headPosition: string; headHash: string; newestPosition: string | null; newestHash: string | null }[]
  >(
    `select h.position::text as "headPosition", h.hash as "headHash", n.position::text as "newestPosition",
       n.hash as "newestHash"
     from audit.chain_head h left join lateral (
       select position, hash from audit.records
       union all select to_position, last_hash from audit.digests where kind = 'purge'
       order by 1 desc limit 1) n on true`,
  );
  return checkHead(
    verification,
    { position: ends!.headPosition, hash: ends!.headHash },
    ends!.newestPosition ? { position: ends!.newestPosition, hash: ends!.newestHash! } : undefined,
  );
}
