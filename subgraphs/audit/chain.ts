import { createHash } from 'node:crypto';

/**
 * Tamper evidence: each audit record's hash covers its canonical form and the hash of
 * the record before it, so editing a record breaks its own hash and deleting one
 * breaks the link of the next.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  id: string;
  eventId: string;
  occurredAt: Date;
  actorId: string;
  action: string;
  entityType: string;
  entityId: string;
  outcome: string;
  data: unknown;
}

/** JSON with object keys sorted at every level, so the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function chainHash(prevHash: string, record: ChainedFields): string {
  // Only the chained fields: a record read back carries its position and hashes too.
  const { id, eventId, occurredAt, actorId, action, entityType, entityId, outcome, data } = record;
  const canonical = canonicalJson({
    id,
    eventId,
    occurredAt: occurredAt.toISOString(),
    actorId,
    action,
    entityType,
    entityId,
    outcome,
    data,
  });
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export interface ChainedRecord extends ChainedFields {
  position: string;
  prevHash: string;
  hash: string;
}

export type Verification =
  | { intact: true; checked: number }
  | { intact: false; checked: number; firstBrokenRecordId: string; reason: 'hash-mismatch' | 'broken-link' };

/** Walks records in chain order; the first record's stored prevHash anchors the range. */
export function verifyChain(records: ChainedRecord[]): Verification {
  let expectedPrev: string | undefined;
  let checked = 0;
  for (const record of records) {
    if (expectedPrev !== undefined && record.prevHash !== expectedPrev) {
      return { intact: false, checked, firstBrokenRecordId: record.id, reason: 'broken-link' };
    }
    if (chainHash(record.prevHash, record) !== record.hash) {
      return { intact: false, checked, firstBrokenRecordId: record.id, reason: 'hash-mismatch' };
    }
    expectedPrev = record.hash;
    checked += 1;
  }
  return { intact: true, checked };
}
