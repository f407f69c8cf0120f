import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

const EXPORT = `mutation ($input: ExportSessionsInput!) {
  exportSessions(input: $input) { url expiresAt format sessionCount messageCount }
}`;
const IMPORT = `mutation ($input: ImportSessionsInput!) {
  importSessions(input: $input) { sessionCount messageCount sessions { id title } }
}`;

interface Exported {
  exportSessions: { url: string; expiresAt: string; sessionCount: number; messageCount: number };
}
interface Imported {
  importSessions: { sessionCount: number; messageCount: number; sessions: { id: string; title: string }[] };
}
type Row = Record<string, unknown>;

const CONVERSATIONS = [
  {
    title: 'Trip to Lyon',
    messages: [
      ['system', 'You plan trains.'],
      ['user', 'Book a train to Lyon'],
      ['assistant', 'Which day?\n\n- Friday\n- Saturday'],
      ['user', 'Friday'],
    ],
  },
  {
    title: 'Recipes',
    messages: [
      ['user', 'Soup ideas?'],
      ['assistant', 'Leek and potato.'],
    ],
  },
] as const;

describe('export and import of sessions as JSON and Markdown', () => {
  let stack: TestStack;
  let db: pg.Client;
  let alice: string;
  let bob: string;
  const original: string[] = [];

  /** Whole rows, without what an import changes (ids, owner, update time), in export order. */
  async function rowsOf(sessionIds: string[]) {
    const strip = (row: Row, keys: string[]) =>
      Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k)));
    const sessions = await db.query<{ row: Row }>(
      `select to_jsonb(s) as row from sessions.sessions s where id = any($1::uuid[]) order by created_at, id`,
      [sessionIds],
    );
    const result = [];
    for (const { row } of sessions.rows) {
      const messages = await db.query<{ row: Row }>(
        `select to_jsonb(m) as row from sessions.messages m where session_id = $1 order by created_at, id`,
        [row.id],
      );
      result.push({
        session: strip(row, ['id', 'owner_id', 'updated_at']),
        messages: messages.rows.map((m) => strip(m.row, ['id', 'session_id', 'owner_id', 'parent_id'])),
      });
    }
    return result;
  }

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded', env: { IMPORT_MAX_BYTES: '200000' } });
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    for (const conversation of CONVERSATIONS) {
      const created = await stack.gql<{ createSession: { id: string } }>(
        alice,
        'mutation ($t: String!) { createSession(input: { title: $t }) { id } }',
        { t: conversation.title },
      );
      const id = created.data!.createSession.id;
      original.push(id);
      for (const [role, content] of conversation.messages) {
        const added = await stack.gql(
          alice,
          'mutation ($s: ID!, $r: MessageRole!, $c: String!) { addMessage(input: { sessionId: $s, role: $r, content: $c }) { id } }',
          { s: id, r: role, c: content },
        );
        expect(added.errors).toBeUndefined();
      }
    }
    // Bob has a session of his own, which must not appear in Alice's export.
    await stack.gql(bob, 'mutation { createSession(input: { title: "Bob only" }) { id } }');
  });
  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  it('round-trips all of a user’s sessions through a JSON export and an import by URL', async () => {
    const exported = await stack.gql<Exported>(alice, EXPORT, { input: { format: 'JSON' } });
    expect(exported.errors).toBeUndefined();
    const result = exported.data!.exportSessions;
    expect(result).toMatchObject({ sessionCount: 2, messageCount: 6 });
    expect(new Date(result.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const audited = await eventually(async () => {
      const { rows } = await db.query<{ actor_id: string; entity_type: string }>(
        `select actor_id, entity_type from audit.records where action = 'sessions.exported'`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(audited[0]).toEqual({ actor_id: 'alice', entity_type: 'export' });
    const document = (await (await fetch(result.url)).json()) as {
      format: string;
      sessions: { session: { title: string } }[];
    };
    expect(document.format).toBe('parley.sessions');
    expect(document.sessions.map((s) => s.session.title)).toEqual(['Trip to Lyon', 'Recipes']);

    const imported = await stack.gql<Imported>(alice, IMPORT, { input: { exportUrl: result.url } });
    expect(imported.errors).toBeUndefined();
    const { sessions, sessionCount, messageCount } = imported.data!.importSessions;
    expect({ sessionCount, messageCount }).toEqual({ sessionCount: 2, messageCount: 6 });
    expect(sessions.map((s) => s.title)).toEqual(['Trip to Lyon', 'Recipes']);
    expect(sessions.map((s) => s.id).some((id) => original.includes(id))).toBe(false);
    expect(await rowsOf(sessions.map((s) => s.id))).toEqual(await rowsOf(original));

    const listed = await stack.gql<{
      session: { messages: { edges: { node: { role: string; content: string } }[] } };
    }>(alice, 'query ($id: ID!) { session(id: $id) { messages { edges { node { role content } } } } }', {
      id: sessions[0]!.id,
    });
    expect(listed.data!.session.messages.edges.map((e) => [e.node.role, e.node.content])).toEqual(
      CONVERSATIONS[0].messages.map(([r, c]) => [r, c]),
    );
    // The imported history reaches the projections through the usual events.
    await eventually(async () => {
      const stats = await stack.gql<{ session: { stats: { messageCount: number } } }>(
        alice,
        'query ($id: ID!) { session(id: $id) { stats { messageCount } } }',
        { id: sessions[0]!.id },
      );
      return stats.data?.session.stats.messageCount === 4 ? true : undefined;
    });
  });

  it('imports an inline JSON document of one session', async () => {
    const exported = await stack.gql<Exported>(alice, EXPORT, {
      input: { format: 'JSON', sessionId: original[1] },
    });
    expect(exported.data!.exportSessions).toMatchObject({ sessionCount: 1, messageCount: 2 });
    const text = await (await fetch(exported.data!.exportSessions.url)).text();
    const imported = await stack.gql<Imported>(bob, IMPORT, { input: { document: text } });
    expect(imported.errors).toBeUndefined();
    const [copy] = imported.data!.importSessions.sessions;
    expect(copy?.title).toBe('Recipes');
    const owner = await db.query<{ owner_id: string }>(
      'select owner_id from sessions.messages where session_id = $1',
      [copy!.id],
    );
    expect(owner.rows.map((r) => r.owner_id)).toEqual(['bob', 'bob']);
  });

  it('exports Markdown that contains the conversation', async () => {
    const exported = await stack.gql<Exported>(alice, EXPORT, {
      input: { format: 'MARKDOWN', sessionId: original[0] },
    });
    expect(exported.errors).toBeUndefined();
    const response = await fetch(exported.data!.exportSessions.url);
    expect(response.headers.get('content-type')).toContain('text/markdown');
    const markdown = await response.text();
    expect(markdown).toContain('## Trip to Lyon');
    expect(markdown).not.toContain('Recipes');
    const order = [
      '### system',
      'You plan trains.',
      '### user',
      'Book a train to Lyon',
      '### assistant',
      '- Friday',
      'Friday',
    ];
    let at = 0;
    for (const part of order) {
      const found = markdown.indexOf(part, at);
      expect(found).toBeGreaterThanOrEqual(at);
      at = found;
    }
  });

  it('answers NOT_FOUND for another user’s session and refuses another user’s export URL', async () => {
    const foreign = await stack.gql(bob, EXPORT, { input: { format: 'JSON', sessionId: original[0] } });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const exported = await stack.gql<Exported>(alice, EXPORT, {
      input: { format: 'JSON', sessionId: original[0] },
    });
    const stolen = await stack.gql(bob, IMPORT, { input: { exportUrl: exported.data!.exportSessions.url } });
    expect(stolen.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'exportUrl' });
    const elsewhere = await stack.gql(alice, IMPORT, {
      input: { exportUrl: 'http://169.254.169.254/latest' },
    });
    expect(elsewhere.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'exportUrl' });
  });

  it('rejects bad documents with BAD_USER_INPUT naming the field, and oversized ones as PAYLOAD_TOO_LARGE', async () => {
    const exported = await stack.gql<Exported>(alice, EXPORT, {
      input: { format: 'JSON', sessionId: original[0] },
    });
    const valid = (await (await fetch(exported.data!.exportSessions.url)).json()) as {
      sessions: { messages: Row[]; session: Row }[];
    };
    const cases: [unknown, string][] = [
      ['{not json', 'document'],
      [{ ...valid, format: 'other' }, 'document.format'],
      [{ ...valid, sessions: [] }, 'document.sessions'],
      [
        {
          ...valid,
          sessions: [
            { ...valid.sessions[0], messages: [{ ...valid.sessions[0]!.messages[0], role: 'root' }] },
          ],
        },
        'document.sessions.0.messages.0.role',
      ],
      [
        {
          ...valid,
          sessions: [{ ...valid.sessions[0], session: { ...valid.sessions[0]!.session, title: ' ' } }],
        },
        'document.sessions.0.session.title',
      ],
      [{ ...valid, extra: true }, 'document'],
      // Postgres text cannot hold NUL: the table refuses it, which is the document's fault.
      [
        {
          ...valid,
          sessions: [
            { ...valid.sessions[0], messages: [{ ...valid.sessions[0]!.messages[0], content: 'a\u0000b' }] },
          ],
        },
        'document',
      ],
    ];
    for (const [document, field] of cases) {
      const r = await stack.gql(alice, IMPORT, {
        input: { document: typeof document === 'string' ? document : JSON.stringify(document) },
      });
      expect({ field, extensions: r.errors?.[0]?.extensions }).toMatchObject({
        field,
        extensions: { code: 'BAD_USER_INPUT', field },
      });
    }
    const neither = await stack.gql(alice, IMPORT, { input: {} });
    expect(neither.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'document' });
    const big = await stack.gql(alice, IMPORT, { input: { document: ' '.repeat(300_000) } });
    expect(big.errors?.[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'document' });
    const count = await db.query<{ n: string }>(
      `select count(*)::text as n from sessions.sessions where owner_id = 'alice'`,
    );
    expect(Number(count.rows[0]!.n)).toBe(4); // the two originals and the one import of the first test
  });
});
