import { createHash, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';
import { canonicalJson, chainHash } from '../../subgraphs/audit/chain.ts';

interface Verification {
  intact: boolean;
  checked: number;
  digestsChecked: number;
  firstBrokenPosition: string | null;
  brokenDigestId: string | null;
  reason: string | null;
}

describe('audit digests, legal holds, retention purge and export', () => {
  let stack: TestStack;
  let sql: pg.Client;
  let admin: string;
  let alice: string;
  let bob: string;
  let publicKeyPem: string;

  const gqlData = async <T>(token: string, query: string, variables?: Record<string, unknown>) => {
    const result = await stack.gql<T>(token, query, variables);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data!;
  };
  const verifyTrail = async () =>
    (
      await gqlData<{ verifyAuditTrail: Verification }>(
        admin,
        `query ($from: DateTime!, $to: DateTime!) { verifyAuditTrail(from: $from, to: $to) {
          intact checked digestsChecked firstBrokenPosition brokenDigestId reason } }`,
        { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' },
      )
    ).verifyAuditTrail;
  const count = async (where = 'true') =>
    Number(
      (await sql.query<{ n: number }>(`select count(*)::int as n from audit.records where ${where}`)).rows[0]!
        .n,
    );
  const signedByPublicKey = (statement: unknown, signature: string) =>
    verify(null, Buffer.from(canonicalJson(statement)), publicKeyPem, Buffer.from(signature, 'base64'));

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded' });
    sql = new pg.Client({ connectionString: stack.databaseUrl });
    await sql.connect();
    admin = await stack.token('auditor', ['admin']);
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    const session = await gqlData<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "quarterly, \\"plan\\"" }) { id } }',
    );
    for (const content of ['=SUM(A1)', 'second']) {
      await gqlData(
        alice,
        'mutation ($s: ID!, $c: String!) { addMessage(input: { sessionId: $s, role: user, content: $c }) { id } }',
        { s: session.createSession.id, c: content },
      );
    }
    await gqlData(bob, 'mutation { createSession(input: { title: "bob keeps" }) { id } }');
    await eventually(async () => ((await count()) === 4 ? true : undefined), 20_000, 'four audit records');
    publicKeyPem = (
      await gqlData<{ auditSigningKey: { publicKeyPem: string; algorithm: string } }>(
        alice,
        '{ auditSigningKey { publicKeyPem algorithm } }',
      )
    ).auditSigningKey.publicKeyPem;
  });
  afterAll(async () => {
    await sql?.end();
    await stack?.stop();
  });

  it('signs a digest over the appended records that anyone can check with the published public key', async () => {
    const { signAuditDigest: digest } = await gqlData<{
      signAuditDigest: { kind: string; recordCount: string; statement: unknown; signature: string };
    }>(admin, 'mutation { signAuditDigest { kind recordCount statement signature } }');
    expect(digest).toMatchObject({ kind: 'periodic', recordCount: '4' });
    expect(signedByPublicKey(digest.statement, digest.signature)).toBe(true);
    expect(await verifyTrail()).toMatchObject({ intact: true, checked: 4, digestsChecked: 1 });
    const again = await gqlData<{ signAuditDigest: null }>(admin, 'mutation { signAuditDigest { id } }');
    expect(again.signAuditDigest).toBeNull();
  });

  it('exports a filtered range as NDJSON whose hash and signed statement check out', async () => {
    const { exportAuditRecords: exported } = await gqlData<{
      exportAuditRecords: {
        url: string;
        recordCount: number;
        sha256: string;
        statement: unknown;
        signature: string;
      };
    }>(
      admin,
      'mutation { exportAuditRecords(format: NDJSON, filter: { actorId: "alice" }) { url recordCount sha256 statement signature } }',
    );
    const body = Buffer.from(await (await fetch(exported.url)).arrayBuffer());
    const lines = body
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { actorId: string; action: string });
    expect(exported.recordCount).toBe(3);
    expect(lines.map((l) => l.actorId)).toEqual(['alice', 'alice', 'alice']);
    expect(createHash('sha256').update(body).digest('hex')).toBe(exported.sha256);
    expect(exported.statement).toMatchObject({ sha256: exported.sha256, recordCount: 3, format: 'NDJSON' });
    expect(signedByPublicKey(exported.statement, exported.signature)).toBe(true);
  });

  it('exports CSV with quoting and spreadsheet formulas neutralised', async () => {
    const { exportAuditRecords: exported } = await gqlData<{
      exportAuditRecords: { url: string; recordCount: number };
    }>(
      admin,
      'mutation { exportAuditRecords(format: CSV, filter: { action: "session.*" }) { url recordCount } }',
    );
    const text = await (await fetch(exported.url)).text();
    const [header, ...rows] = text.trim().split('\n');
    expect(header).toMatch(/^position,id,eventId,occurredAt,actorId/);
    expect(rows).toHaveLength(exported.recordCount);
    expect(exported.recordCount).toBe(2);
    expect(text).toContain('""plan\\""'); // a JSON-escaped quote inside a quoted CSV cell
    const messages = await gqlData<{ exportAuditRecords: { url: string } }>(
      admin,
      'mutation { exportAuditRecords(format: CSV, filter: { action: "message.added" }) { url } }',
    );
    expect(await (await fetch(messages.exportAuditRecords.url)).text()).not.toMatch(/,=SUM/);
  });

  it('refuses exports, purges and holds to a non-admin', async () => {
    for (const mutation of [
      'mutation { exportAuditRecords(format: CSV) { url } }',
      'mutation { purgeAuditRecords { purged } }',
      'mutation { placeLegalHold(input: { actorId: "x", reason: "r" }) { id } }',
    ]) {
      expect((await stack.gql(alice, mutation)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('purges everything past retention except records under a legal hold, and the chain still verifies', async () => {
    const bad = await stack.gql(admin, 'mutation { placeLegalHold(input: { reason: "no matcher" }) { id } }');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
    const { placeLegalHold: hold } = await gqlData<{ placeLegalHold: { id: string } }>(
      admin,
      'mutation { placeLegalHold(input: { actorId: "bob", reason: "litigation 42" }) { id } }',
    );
    // 4 domain records, 3 exports, 3 refusals to alice, 1 hold: wait for all of them to land.
    await eventually(async () => ((await count()) === 11 ? true : undefined), 20_000, 'every record so far');
    const before = await count();
    const { purgeAuditRecords: purge } = await gqlData<{
      purgeAuditRecords: { purged: number; ranges: { digestId: string }[] };
    }>(
      admin,
      'mutation ($now: DateTime) { purgeAuditRecords(before: $now) { purged ranges { digestId } } }',
      { now: new Date().toISOString() },
    );
    expect(purge.purged).toBe(before - 1); // all but bob's record
    expect(await count(`actor_id = 'bob'`)).toBe(1);
    expect(await count(`action = 'audit.purged' and actor_id = 'auditor'`)).toBe(1);
    const verification = await verifyTrail();
    expect(verification).toMatchObject({ intact: true, reason: null });
    expect(verification.digestsChecked).toBeGreaterThanOrEqual(purge.ranges.length);
    const released = await gqlData<{ releaseLegalHold: { releasedBy: string } }>(
      admin,
      'mutation ($id: ID!) { releaseLegalHold(id: $id) { releasedBy } }',
      { id: hold.id },
    );
    expect(released.releaseLegalHold.releasedBy).toBe('auditor');
  });

  it('detects a forged purge digest by its signature', async () => {
    const { rows } = await sql.query<{ id: string; last_hash: string }>(
      `select id, last_hash from audit.digests where kind = 'purge' order by from_position limit 1`,
    );
    await sql.query(`update audit.digests set record_count = record_count + 1 where id = $1`, [rows[0]!.id]);
    expect(await verifyTrail()).toMatchObject({
      intact: false,
      reason: 'signature-invalid',
      brokenDigestId: rows[0]!.id,
    });
    await sql.query(`update audit.digests set record_count = record_count - 1 where id = $1`, [rows[0]!.id]);
    expect((await verifyTrail()).intact).toBe(true);
  });

  it('catches a chain rewritten with freshly computed hashes through the signed digest', async () => {
    await eventually(
      async () => ((await count(`action = 'audit.legal-hold-released'`)) === 1 ? true : undefined),
      20_000,
      'the hold release audited',
    );
    await gqlData(admin, 'mutation { signAuditDigest { id } }');
    const { rows } = await sql.query<Record<string, unknown>>(
      `select id, event_id as "eventId", occurred_at as "occurredAt", actor_id as "actorId", action,
         entity_type as "entityType", entity_id as "entityId", outcome, data, actor_kind as "actorKind",
         api_key_id as "apiKeyId", ip, user_agent as "userAgent", request_id as "requestId",
         trace_id as "traceId", changes, position::text as position, prev_hash as "prevHash", hash
       from audit.records r order by r.position`,
    );
    // The attacker edits the purge record (after every purged range, so no purge digest
    // anchors it) and recomputes its hash and every later one: only the periodic digest knows.
    let prev: string | undefined;
    for (const row of rows) {
      const target = row.action === 'audit.purged';
      if (target) row.data = { before: '2000-01-01T00:00:00.000Z', purged: 0, ranges: [] };
      if (prev === undefined && !target) continue;
      const prevHash = prev ?? (row.prevHash as string);
      const hash = chainHash(prevHash, row as never);
      await sql.query('update audit.records set data = $1, prev_hash = $2, hash = $3 where id = $4', [
        row.data,
        prevHash,
        hash,
        row.id,
      ]);
      prev = hash;
    }
    expect(await verifyTrail()).toMatchObject({ intact: false, reason: 'digest-mismatch' });
  });
});
