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
  actorKind?: string | null;
  apiKeyId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  traceId?: string | null;
  changes?: unknown;
}

/** Context fields join the canonical form only when present, so older records keep their hashes. */
const optionalFields = [
  'actorKind',
  'apiKeyId',
  'ip',
  'userAgent',
  'requestId',
  'traceId',
  'changes',
] as const;

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
  const context = Object.fromEntries(
    optionalFields.flatMap((f) => (record[f] === null || record[f] === undefined ? [] : [[f, record[f]]])),
  );
  const canonical = canonicalJson({
    ...context,
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

/** A signed statement over positions [fromPosition, toPosition] of the chain. */
export interface SignedRange {
  id: string;
  fromPosition: string;
  toPosition: string;
  firstPrevHash: string;
  lastHash: string;
  /** Whether the signature over the statement checks out with the configured public key. */
  signatureValid: boolean;
}

export type BreakReason =
  'hash-mismatch' | 'broken-link' | 'signature-invalid' | 'digest-mismatch' | 'head-mismatch';

export type Verification =
  | { intact: true; checked: number; digestsChecked: number }
  | {
      intact: false;
      checked: number;
      digestsChecked: number;
      firstBrokenRecordId: string | null;
      firstBrokenPosition: string;
      brokenDigestId: string | null;
      reason: BreakReason;
    };

const byPositionOrder = (a: { position: bigint }, b: { position: bigint }) =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : 0;

/**
 * Walks the chain in position order, a batch of records at a time (so a 90-day range never
 * sits in memory whole): present records are recomputed, purged ranges are bridged by their
 * signed digests, and periodic digests must agree with the records they cover (which catches
 * a chain rewritten from some point on with fresh hashes). The first item's stored prevHash
 * anchors the walk. Feed `add` batches in ascending position order; it returns the break as
 * soon as one is found, and `finish` the verdict.
 */
export function createTrailVerifier(input: { purged?: SignedRange[]; digests?: SignedRange[] }) {
  const segments = (input.purged ?? [])
    .map((segment) => ({ position: BigInt(segment.fromPosition), segment }))
    .sort(byPositionOrder);
  const digests = input.digests ?? [];
  // Digest endpoints seen during the walk: only the records at those positions are compared.
  const endpointMismatch = new Map<string, { position: string; recordId: string }>();
  const endpoints = new Map<string, { digestIndex: number; end: 'first' | 'last' }[]>();
  digests.forEach((digest, digestIndex) => {
    for (const [end, position] of [
      ['first', digest.fromPosition],
      ['last', digest.toPosition],
    ] as const) {
      const list = endpoints.get(position) ?? [];
      list.push({ digestIndex, end });
      endpoints.set(position, list);
    }
  });
  let nextSegment = 0;
  let checked = 0;
  let digestsChecked = 0;
  let expectedPrev: string | undefined;
  let failure: Verification | undefined;
  const broken = (
    reason: BreakReason,
    position: bigint | string,
    recordId: string | null,
    digestId: string | null,
  ): Verification => ({
    intact: false,
    checked,
    digestsChecked,
    firstBrokenRecordId: recordId,
    firstBrokenPosition: String(position),
    brokenDigestId: digestId,
    reason,
  });

  function bridge(segment: SignedRange, position: bigint): Verification | undefined {
    if (expectedPrev !== undefined && segment.firstPrevHash !== expectedPrev)
      return broken('broken-link', position, null, segment.id);
    if (!segment.signatureValid) return broken('signature-invalid', position, null, segment.id);
    expectedPrev = segment.lastHash;
    digestsChecked += 1;
    return undefined;
  }

  function bridgeUpTo(limit: bigint | undefined): Verification | undefined {
    while (nextSegment < segments.length) {
      const { position, segment } = segments[nextSegment]!;
      if (limit !== undefined && position > limit) return undefined;
      nextSegment += 1;
      const result = bridge(segment, position);
      if (result) return result;
    }
    return undefined;
  }

  function walk(record: ChainedRecord): Verification | undefined {
    const position = BigInt(record.position);
    const gap = bridgeUpTo(position);
    if (gap) return gap;
    if (expectedPrev !== undefined && record.prevHash !== expectedPrev)
      return broken('broken-link', position, record.id, null);
    if (chainHash(record.prevHash, record) !== record.hash)
      return broken('hash-mismatch', position, record.id, null);
    for (const { digestIndex, end } of endpoints.get(record.position) ?? []) {
      const digest = digests[digestIndex]!;
      const matches =
        end === 'first' ? record.prevHash === digest.firstPrevHash : record.hash === digest.lastHash;
      const key = `${digestIndex}:${end}`;
      if (!matches) endpointMismatch.set(key, { position: record.position, recordId: record.id });
    }
    expectedPrev = record.hash;
    checked += 1;
    return undefined;
  }

  return {
    add(records: ChainedRecord[]): Verification | undefined {
      if (failure) return failure;
      for (const record of records) {
        failure = walk(record);
        if (failure) return failure;
      }
      return undefined;
    },
    finish(): Verification {
      failure ??= bridgeUpTo(undefined);
      if (failure) return failure;
      for (const [index, digest] of digests.entries()) {
        if (!digest.signatureValid) return broken('signature-invalid', digest.toPosition, null, digest.id);
        for (const end of ['first', 'last'] as const) {
          const mismatch = endpointMismatch.get(`${index}:${end}`);
          if (mismatch) return broken('digest-mismatch', mismatch.position, mismatch.recordId, digest.id);
        }
        digestsChecked += 1;
      }
      return { intact: true, checked, digestsChecked };
    },
  };
}

/** The whole trail at once (tests and small ranges); records may come in any order. */
export function verifyTrail(input: {
  records: ChainedRecord[];
  purged?: SignedRange[];
  digests?: SignedRange[];
}): Verification {
  const verifier = createTrailVerifier(input);
  const records = input.records
    .map((record) => ({ position: BigInt(record.position), record }))
    .sort(byPositionOrder)
    .map((item) => item.record);
  return verifier.add(records) ?? verifier.finish();
}

/**
 * The newest link must be the chain head the writer recorded: deleting the newest records
 * leaves no broken link behind, but it leaves the head pointing past them.
 */
export function checkHead(
  verification: Verification,
  head: { position: string; hash: string },
  newest: { position: string; hash: string } | undefined,
): Verification {
  if (!verification.intact || head.position === '0') return verification;
  if (newest?.position === head.position && newest.hash === head.hash) return verification;
  return {
    ...verification,
    intact: false,
    firstBrokenRecordId: null,
    firstBrokenPosition: head.position,
    brokenDigestId: null,
    reason: 'head-mismatch',
  };
}

/** The records alone (no digests): what a range without any signed digest can prove. */
export const verifyChain = (records: ChainedRecord[]) => verifyTrail({ records });
