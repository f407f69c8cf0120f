import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { chainHead } from './chain-writer.ts';
import type { SignedRange } from './chain.ts';
import type { AuditSigner } from './signing.ts';

export interface DigestRow {
  id: string;
  kind: 'periodic' | 'purge';
  fromPosition: string;
  toPosition: string;
  firstPrevHash: string;
  lastHash: string;
  recordCount: string;
  fromTime: Date;
  toTime: Date;
  createdAt: Date;
  keyId: string;
  signature: string;
}

/** Exactly what is signed: everything a verifier needs, positions as strings (bigint-safe). */
export function statementOf(d: Omit<DigestRow, 'signature'>) {
  return {
    id: d.id,
    kind: d.kind,
    fromPosition: d.fromPosition,
    toPosition: d.toPosition,
    firstPrevHash: d.firstPrevHash,
    lastHash: d.lastHash,
    recordCount: d.recordCount,
    fromTime: d.fromTime.toISOString(),
    toTime: d.toTime.toISOString(),
    createdAt: d.createdAt.toISOString(),
    keyId: d.keyId,
  };
}

const exec = <T extends object[]>(em: EntityManager, sql: string, params: unknown[] = []) =>
  em.getConnection().execute<T>(sql, params, 'all', em.getTransactionContext());

export const DIGEST_COLUMNS = `id, kind, from_position::text as "fromPosition", to_position::text as "toPosition",
  first_prev_hash as "firstPrevHash", last_hash as "lastHash", record_count::text as "recordCount",
  from_time as "fromTime", to_time as "toTime", created_at as "createdAt", key_id as "keyId", signature`;

export async function insertDigest(
  em: EntityManager,
  signer: AuditSigner,
  range: Omit<DigestRow, 'id' | 'createdAt' | 'keyId' | 'signature'>,
): Promise<DigestRow> {
  const unsigned = {
    ...range,
    id: randomUUID(),
    createdAt: new Date(),
    keyId: signer.keyId,
    fromTime: new Date(range.fromTime),
    toTime: new Date(range.toTime),
  };
  const digest = { ...unsigned, signature: signer.sign(statementOf(unsigned)) };
  await exec(
    em,
    `insert into audit.digests (id, kind, from_position, to_position, first_prev_hash, last_hash, record_count,
       from_time, to_time, created_at, key_id, signature) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      digest.id,
      digest.kind,
      digest.fromPosition,
      digest.toPosition,
      digest.firstPrevHash,
      digest.lastHash,
      digest.recordCount,
      digest.fromTime,
      digest.toTime,
      digest.createdAt,
      digest.keyId,
      digest.signature,
    ],
  );
  return digest;
}

/**
 * Signs a digest over every record appended since the last periodic digest (call inside a
 * transaction: the chain head lock keeps appends out while the range is read). Null when
 * nothing new was appended.
 */
export async function signPeriodicDigest(em: EntityManager, signer: AuditSigner): Promise<DigestRow | null> {
  const head = await chainHead(em);
  const [last] = await exec<{ to: string }[]>(
    em,
    `select coalesce(max(to_position), 0)::text as "to" from audit.digests where kind = 'periodic'`,
  );
  const after = last?.to ?? '0';
  if (head.position <= BigInt(after)) return null;
  const [range] = await exec<
    { fromPosition: string; toPosition: string; recordCount: string; fromTime: Date; toTime: Date }[]
  >(
    em,
    `select min(position)::text as "fromPosition", max(position)::text as "toPosition",
       count(*)::text as "recordCount", min(occurred_at) as "fromTime", max(occurred_at) as "toTime"
     from audit.records where position > ? and position <= ?`,
    [after, head.position.toString()],
  );
  if (!range?.fromPosition) return null;
  const [ends] = await exec<{ firstPrevHash: string; lastHash: string }[]>(
    em,
    `select (select prev_hash from audit.records where position = ?) as "firstPrevHash",
            (select hash from audit.records where position = ?) as "lastHash"`,
    [range.fromPosition, range.toPosition],
  );
  return insertDigest(em, signer, {
    kind: 'periodic',
    ...range,
    firstPrevHash: ends!.firstPrevHash,
    lastHash: ends!.lastHash,
  });
}

/** Digests of one kind overlapping a time window, with their signatures checked. */
export async function signedRanges(
  em: EntityManager,
  signer: AuditSigner,
  kind: DigestRow['kind'],
  from: Date,
  to: Date,
): Promise<SignedRange[]> {
  const rows = await exec<DigestRow[]>(
    em,
    `select ${DIGEST_COLUMNS} from audit.digests where kind = ? and from_time <= ? and to_time >= ?
     order by from_position`,
    [kind, to, from],
  );
  return rows.map((row) => ({
    id: row.id,
    fromPosition: row.fromPosition,
    toPosition: row.toPosition,
    firstPrevHash: row.firstPrevHash,
    lastHash: row.lastHash,
    signatureValid:
      row.keyId === signer.keyId &&
      signer.verify(
        statementOf({
          ...row,
          fromTime: new Date(row.fromTime),
          toTime: new Date(row.toTime),
          createdAt: new Date(row.createdAt),
        }),
        row.signature,
      ),
  }));
}
