import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

interface Verification {
  intact: boolean;
  checked: number;
  firstBrokenRecordId: string | null;
  reason: string | null;
}

describe('the audit trail: search and tamper evidence', () => {
  let stack: TestStack;
  let sql: pg.Client;
  let admin: string;
  const verify = async () =>
    (
      await stack.gql<{ verifyAuditTrail: Verification }>(
        admin,
        'query ($from: DateTime!, $to: DateTime!) { verifyAuditTrail(from: $from, to: $to) { intact checked firstBrokenRecordId reason } }',
        { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' },
      )
    ).data!.verifyAuditTrail;
  const records = async () =>
    (
      await sql.query<{ id: string; action: string; data: unknown }>(
        'select id, action, data from audit.records order by position',
      )
    ).rows;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded' });
    sql = new pg.Client({ connectionString: stack.databaseUrl });
    await sql.connect();
    admin = await stack.token('auditor', ['admin']);
    const alice = await stack.token('alice');
    const session = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "audited" }) { id } }',
    );
    for (const content of ['one', 'two']) {
      await stack.gql(
        alice,
        'mutation ($s: ID!, $c: String!) { addMessage(input: { sessionId: $s, role: user, content: $c }) { id } }',
        {
          s: session.data!.createSession.id,
          c: content,
        },
      );
    }
    await eventually(
      async () => ((await records()).length === 3 ? true : undefined),
      20_000,
      'three audit records',
    );
  });
  afterAll(async () => {
    await sql?.end();
    await stack?.stop();
  });

  it('verifies an untouched trail as intact', async () => {
    expect(await verify()).toEqual({ intact: true, checked: 3, firstBrokenRecordId: null, reason: null });
  });

  it('lets an admin search by action prefix, entity, outcome, time and text, with total counts', async () => {
    const q = async (filter: string, first = 50) =>
      (
        await stack.gql<{ auditRecords: { totalCount: number; edges: { node: { action: string } }[] } }>(
          admin,
          `{ auditRecords(first: ${first}, filter: { ${filter} }) { totalCount edges { node { action } } } }`,
        )
      ).data!.auditRecords;
    expect(await q('action: "message.*"')).toEqual({
      totalCount: 2,
      edges: [{ node: { action: 'message.added' } }, { node: { action: 'message.added' } }],
    });
    expect((await q('entityType: "session", outcome: success, actorId: "alice"')).totalCount).toBe(1);
    expect((await q('action: "message.*"', 1)).totalCount).toBe(2);
    expect((await q('text: "session.created"')).totalCount).toBe(1);
    expect((await q('text: "AUDITED"')).totalCount).toBe(1); // the title, inside the event data
    expect((await q('text: "two"')).totalCount).toBe(1); // a message preview
    expect((await q('text: "message -two"')).totalCount).toBe(1);
    expect((await q('text: "two", actorId: "alice"')).totalCount).toBe(1); // text checked on the actor's rows
    expect((await q('text: "two", actorId: "bob"')).totalCount).toBe(0);
    expect((await q('from: "2099-01-01T00:00:00Z"')).totalCount).toBe(0);
    const bad = await stack.gql(admin, '{ auditRecords(filter: { text: "x" }) { totalCount } }');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'text' });
  });

  it('records who acted, how they authenticated, from where and in which request', async () => {
    const result = await stack.gql<{
      auditRecords: { edges: { node: { actor: Record<string, unknown>; requestId: string | null } }[] };
    }>(
      admin,
      '{ auditRecords(filter: { action: "session.created" }) { edges { node { actor { id kind ip userAgent } requestId } } } }',
    );
    const node = result.data!.auditRecords.edges[0]!.node;
    expect(node.actor).toMatchObject({ id: 'alice', kind: 'jwt' });
    expect(node.actor.ip).toMatch(/127\.0\.0\.1|::1/);
    expect(node.actor.userAgent).toEqual(expect.any(String));
    expect(node.requestId).toEqual(expect.any(String));
  });

  it('detects a record edited with SQL, and names it', async () => {
    const [first] = await records();
    await sql.query(
      `update audit.records set data = '{"sessionId": "forged", "title": "forged"}' where id = $1`,
      [first!.id],
    );
    expect(await verify()).toEqual({
      intact: false,
      checked: 0,
      firstBrokenRecordId: first!.id,
      reason: 'hash-mismatch',
    });
    await sql.query('update audit.records set data = $2 where id = $1', [
      first!.id,
      JSON.stringify(first!.data),
    ]);
    expect((await verify()).intact).toBe(true);
  });

  it('detects a record deleted with SQL, at the record that followed it', async () => {
    const [, second, third] = await records();
    await sql.query('delete from audit.records where id = $1', [second!.id]);
    expect(await verify()).toEqual({
      intact: false,
      checked: 1,
      firstBrokenRecordId: third!.id,
      reason: 'broken-link',
    });
  });

  it('detects the newest record deleted with SQL through the chain head', async () => {
    const newest = (await records()).at(-1)!;
    await sql.query('delete from audit.records where id = $1', [newest.id]);
    const result = await verify();
    expect(result.intact).toBe(false);
  });

  it('lets only the admin scope verify', async () => {
    const alice = await stack.token('alice');
    const r = await stack.gql(
      alice,
      '{ verifyAuditTrail(from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { intact } }',
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
