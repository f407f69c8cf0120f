import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

interface Row {
  request_id: string;
  action: string;
  actor_id: string;
  actor_kind: string;
  outcome: string;
}

/**
 * Every domain mutation of the sessions and tasks subgraphs, called through the router
 * with its own request id, leaves exactly the audit records of what it changed: one,
 * except an import (one per imported session and message).
 */
describe('the audit trail over every sessions and tasks mutation', () => {
  let stack: TestStack;
  let sql: pg.Client;
  let alice: string;
  const expected = new Map<string, { mutation: string; actions: string[] }>();

  /** Calls a mutation as alice with a fresh request id and remembers what it should leave. */
  async function call<T>(mutation: string, actions: string[], query: string, variables = {}): Promise<T> {
    const requestId = randomUUID();
    const response = await fetch(stack.parley.routerUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${alice}`,
        'x-request-id': requestId,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    if (body.errors) throw new Error(`${mutation}: ${JSON.stringify(body.errors)}`);
    expected.set(requestId, { mutation, actions });
    return body.data!;
  }

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'kafka' });
    sql = new pg.Client({ connectionString: stack.databaseUrl });
    await sql.connect();
    alice = await stack.token('alice');

    const { createSession: s } = await call<{ createSession: { id: string } }>(
      'createSession',
      ['session.created'],
      'mutation { createSession(input: { title: "plan" }) { id } }',
    );
    const id = { id: s.id };
    const byId = (name: string, action: string) =>
      call(name, [action], `mutation ($id: ID!) { ${name}(id: $id) { id } }`, id);
    await call(
      'renameSession',
      ['session.renamed'],
      'mutation ($id: ID!) { renameSession(id: $id, title: "plan B") { id } }',
      id,
    );
    await byId('favoriteSession', 'session.favorited');
    await byId('unfavoriteSession', 'session.unfavorited');
    await call(
      'tagSession',
      ['session.tagged'],
      'mutation ($id: ID!) { tagSession(id: $id, tags: ["work"]) { id } }',
      id,
    );
    await byId('archiveSession', 'session.archived');
    await byId('unarchiveSession', 'session.unarchived');
    const { addMessage: m } = await call<{ addMessage: { id: string } }>(
      'addMessage',
      ['message.added'],
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "hello" }) { id } }',
      { s: s.id },
    );
    await call(
      'forkSession',
      ['session.forked'],
      'mutation ($m: ID!) { forkSession(messageId: $m) { id } }',
      { m: m.id },
    );

    const body = Buffer.from('retrieved context');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const { requestAttachmentUpload: upload } = await call<{
      requestAttachmentUpload: { uploadUrl: string; attachment: { id: string } };
    }>(
      'requestAttachmentUpload',
      ['attachment.requested'],
      `mutation ($input: RequestAttachmentUploadInput!) { requestAttachmentUpload(input: $input) {
        uploadUrl attachment { id } } }`,
      { input: { messageId: m.id, filename: 'c.txt', contentType: 'text/plain', size: body.length, sha256 } },
    );
    await fetch(upload.uploadUrl, { method: 'PUT', body, headers: { 'content-type': 'text/plain' } });
    await call(
      'confirmAttachmentUpload',
      ['attachment.ready'],
      'mutation ($id: ID!) { confirmAttachmentUpload(id: $id) { id } }',
      {
        id: upload.attachment.id,
      },
    );
    await call(
      'removeAttachment',
      ['attachment.removed'],
      'mutation ($id: ID!) { removeAttachment(id: $id) }',
      {
        id: upload.attachment.id,
      },
    );
    const { exportSessions: exported } = await call<{ exportSessions: { url: string } }>(
      'exportSessions',
      ['sessions.exported'],
      'mutation ($s: ID!) { exportSessions(input: { sessionId: $s, format: JSON }) { url } }',
      { s: s.id },
    );
    await call(
      'importSessions',
      ['message.added', 'session.created'],
      'mutation ($url: String!) { importSessions(input: { exportUrl: $url }) { sessionCount } }',
      { url: exported.url },
    );
    await byId('deleteSession', 'session.deleted');
    await byId('restoreSession', 'session.restored');

    const createTask = (title: string) =>
      call<{ createTask: { id: string } }>(
        'createTask',
        ['task.created'],
        'mutation ($t: String!, $s: ID) { createTask(input: { title: $t, sessionId: $s }) { id } }',
        { t: title, s: s.id },
      );
    const { createTask: t } = await createTask('book flights');
    await createTask('pack');
    const task = { id: t.id };
    await call(
      'updateTask',
      ['task.updated'],
      'mutation ($id: ID!) { updateTask(id: $id, input: { priority: 1 }) { id } }',
      task,
    );
    await call(
      'completeTask',
      ['task.completed'],
      'mutation ($id: ID!) { completeTask(id: $id) { id } }',
      task,
    );
    await call('reopenTask', ['task.reopened'], 'mutation ($id: ID!) { reopenTask(id: $id) { id } }', task);
    await call('cancelTask', ['task.cancelled'], 'mutation ($id: ID!) { cancelTask(id: $id) { id } }', task);
    await call('deleteTask', ['task.deleted'], 'mutation ($id: ID!) { deleteTask(id: $id) }', task);
    // Tasks created from a chat session notify their owner; one is marked read alone, the other with "all".
    const notifications = await eventually(
      async () => {
        const r = await stack.gql<{ notifications: { edges: { node: { id: string } }[] } }>(
          alice,
          '{ notifications(first: 10) { edges { node { id } } } }',
        );
        const edges = r.data?.notifications.edges ?? [];
        return edges.length === 2 ? edges : undefined;
      },
      20_000,
      'two notifications',
    );
    await call(
      'markNotificationRead',
      ['notification.read'],
      'mutation ($id: ID!) { markNotificationRead(id: $id) { id } }',
      {
        id: notifications[0]!.node.id,
      },
    );
    await call('markAllNotificationsRead', ['notification.read'], 'mutation { markAllNotificationsRead }');
  });
  afterAll(async () => {
    await sql?.end();
    await stack?.stop();
  });

  it('leaves exactly the records of each mutation, with alice as the actor and success as the outcome', async () => {
    const ids = [...expected.keys()];
    const byRequest = await eventually(
      async () => {
        const { rows } = await sql.query<Row>(
          'select request_id, action, actor_id, actor_kind, outcome from audit.records where request_id = any($1)',
          [ids],
        );
        const grouped = new Map<string, Row[]>();
        for (const row of rows) grouped.set(row.request_id, [...(grouped.get(row.request_id) ?? []), row]);
        const complete = [...expected].every(([id, e]) => (grouped.get(id)?.length ?? 0) >= e.actions.length);
        return complete ? grouped : undefined;
      },
      30_000,
      'audit records of every mutation',
    );
    await new Promise((r) => setTimeout(r, 1000)); // late duplicates would show up now
    const { rows: again } = await sql.query<Row>(
      'select request_id, action from audit.records where request_id = any($1)',
      [ids],
    );
    expect(again.length).toBe([...byRequest.values()].flat().length);
    const seen = [...expected].map(([id, e]) => ({
      mutation: e.mutation,
      actions: [...new Set((byRequest.get(id) ?? []).map((r) => r.action))].sort(),
      counts: (byRequest.get(id) ?? []).length,
    }));
    expect(seen.map(({ mutation, actions }) => ({ mutation, actions }))).toEqual(
      [...expected.values()].map((e) => ({ mutation: e.mutation, actions: [...e.actions].sort() })),
    );
    for (const { mutation, counts } of seen)
      if (mutation !== 'importSessions') expect({ mutation, counts }).toEqual({ mutation, counts: 1 });
    const rows = [...byRequest.values()].flat();
    expect(
      rows.every((r) => r.actor_id === 'alice' && r.actor_kind === 'jwt' && r.outcome === 'success'),
    ).toBe(true);
  });
});
