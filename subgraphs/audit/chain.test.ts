import { describe, expect, it } from '@jest/globals';
import { GENESIS_HASH, canonicalJson, chainHash, verifyChain, type ChainedRecord } from './chain.ts';

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
    expect(verifyChain(chain(5))).toEqual({ intact: true, checked: 5 });
  });

  it('names the first record whose content was edited', () => {
    const records = chain(5);
    records[2]!.data = { title: 'forged' };
    expect(verifyChain(records)).toEqual({
      intact: false,
      checked: 2,
      firstBrokenRecordId: 'r2',
      reason: 'hash-mismatch',
    });
  });

  it('names the record after one that was deleted', () => {
    const records = chain(5);
    records.splice(1, 1);
    expect(verifyChain(records)).toEqual({
      intact: false,
      checked: 1,
      firstBrokenRecordId: 'r2',
      reason: 'broken-link',
    });
  });
});
