import { describe, expect, it } from '@jest/globals';
import {
  GENESIS_HASH,
  canonicalJson,
  chainHash,
  checkHead,
  createTrailVerifier,
  verifyChain,
  verifyTrail,
  type ChainedRecord,
  type SignedRange,
} from './chain.ts';

function chain(n: number): ChainedRecord[] {
  const out: ChainedRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < n; i += 1) {
    const fields = {
      id: `r${i}`,
      eventId: `e${i}`,
      occurredAt: new Date(1_700_000_000_000 + i),
      actorId: 'alice',
      action: 'task.created',
      entityType: 'task',
      entityId: `t${i}`,
      outcome: 'success',
      data: { title: `t${i}` },
    };
    const hash = chainHash(prev, fields);
    out.push({ ...fields, position: String(i + 1), prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

describe('the audit hash chain', () => {
  it('serialises objects the same whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { y: 2, z: 1 }] }, b: 1 }),
    );
  });

  it('verifies an untouched chain as intact', () => {
    expect(verifyChain(chain(5))).toEqual({ intact: true, checked: 5, digestsChecked: 0 });
  });

  it('names the first record whose content was edited', () => {
    const records = chain(5);
    records[2]!.data = { title: 'forged' };
    expect(verifyChain(records)).toMatchObject({
      intact: false,
      checked: 2,
      firstBrokenRecordId: 'r2',
      firstBrokenPosition: '3',
      reason: 'hash-mismatch',
    });
  });

  it('names the record after one that was deleted', () => {
    const records = chain(5);
    records.splice(1, 1);
    expect(verifyChain(records)).toMatchObject({
      intact: false,
      checked: 1,
      firstBrokenRecordId: 'r2',
      reason: 'broken-link',
    });
  });

  const rangeOf = (records: ChainedRecord[], id: string, signatureValid = true): SignedRange => ({
    id,
    fromPosition: records[0]!.position,
    toPosition: records.at(-1)!.position,
    firstPrevHash: records[0]!.prevHash,
    lastHash: records.at(-1)!.hash,
    signatureValid,
  });

  it('bridges a purged range with its signed digest', () => {
    const records = chain(6);
    const purged = rangeOf(records.splice(1, 3), 'p1');
    expect(verifyTrail({ records, purged: [purged] })).toEqual({
      intact: true,
      checked: 3,
      digestsChecked: 1,
    });
  });

  it('refuses a purged range whose digest signature does not check out', () => {
    const records = chain(6);
    const purged = rangeOf(records.splice(1, 3), 'p1', false);
    expect(verifyTrail({ records, purged: [purged] })).toMatchObject({
      intact: false,
      reason: 'signature-invalid',
      brokenDigestId: 'p1',
    });
  });

  it('catches a chain rewritten with fresh hashes through the digest that covered it', () => {
    const original = chain(4);
    const digest = rangeOf(original, 'd1');
    // Rewrite record 3 and rehash it and everything after it: the chain alone looks intact.
    const rewritten = original.slice(0, 2);
    let prev = rewritten[1]!.hash;
    for (const r of original.slice(2)) {
      const fields = { ...r, data: { title: 'rewritten' } };
      const hash = chainHash(prev, fields);
      rewritten.push({ ...fields, prevHash: prev, hash });
      prev = hash;
    }
    expect(verifyChain(rewritten).intact).toBe(true);
    expect(verifyTrail({ records: rewritten, digests: [digest] })).toMatchObject({
      intact: false,
      reason: 'digest-mismatch',
      firstBrokenPosition: '4',
      brokenDigestId: 'd1',
    });
  });

  it('reaches the same verdict when the records come in batches, across purged ranges and digests', () => {
    const inBatches = (input: Parameters<typeof verifyTrail>[0], size: number) => {
      const verifier = createTrailVerifier(input);
      for (let i = 0; i < input.records.length; i += size) {
        const result = verifier.add(input.records.slice(i, i + size));
        if (result) return result;
      }
      return verifier.finish();
    };
    const records = chain(20);
    const digest = rangeOf(records.slice(10, 15), 'd1');
    const purged = rangeOf(records.splice(3, 4), 'p1');
    const trail = { records, purged: [purged], digests: [digest] };
    expect(inBatches(trail, 3)).toEqual({ intact: true, checked: 16, digestsChecked: 2 });
    expect(inBatches(trail, 3)).toEqual(verifyTrail(trail));

    const forged = records.map((r) => ({ ...r }));
    forged[9]!.data = { title: 'forged' };
    const tampered = { ...trail, records: forged };
    expect(inBatches(tampered, 4)).toEqual(verifyTrail(tampered));
    expect(inBatches(tampered, 4)).toMatchObject({
      reason: 'hash-mismatch',
      firstBrokenRecordId: forged[9]!.id,
    });
  });

  it('notices the newest records deleted through the chain head', () => {
    const records = chain(3);
    const head = { position: '3', hash: records[2]!.hash };
    const intact = verifyChain(records);
    expect(checkHead(intact, head, { position: '3', hash: records[2]!.hash })).toEqual(intact);
    const truncated = verifyChain(records.slice(0, 2));
    expect(checkHead(truncated, head, { position: '2', hash: records[1]!.hash })).toMatchObject({
      intact: false,
      reason: 'head-mismatch',
      firstBrokenPosition: '3',
    });
  });
});
