import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { cleanupAttachments } from '../../subgraphs/sessions/attachments.ts';
import { purgeExpiredSessions } from '../../subgraphs/sessions/purge.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

const sha = (body: Buffer) => createHash('sha256').update(body).digest('hex');

const REQUEST = `mutation ($input: RequestAttachmentUploadInput!) {
  requestAttachmentUpload(input: $input) { uploadUrl uploadForm { url fields { name value } } expiresAt attachment { id status size sha256 contentType filename } }
}`;
const CONFIRM = `mutation ($id: ID!) { confirmAttachmentUpload(id: $id) { id status confirmedAt downloadUrl } }`;
const REMOVE = `mutation ($id: ID!) { removeAttachment(id: $id) }`;
const ATTACHMENT = `query ($id: ID!) { attachment(id: $id) { id status downloadUrl message { id } } }`;

interface Upload {
  requestAttachmentUpload: {
    uploadUrl: string;
    uploadForm: { url: string; fields: { name: string; value: string }[] };
    attachment: { id: string; status: string };
  };
}

describe('message attachments through the router and a real S3 server', () => {
  let stack: TestStack;
  let db: pg.Client;
  let alice: string;
  let bob: string;
  let message: string;

  const request = (token: string, body: Buffer, overrides: Record<string, unknown> = {}) =>
    stack.gql<Upload>(token, REQUEST, {
      input: {
        messageId: message,
        filename: 'notes.txt',
        contentType: 'text/plain',
        size: body.length,
        sha256: sha(body),
        ...overrides,
      },
    });
  const put = (url: string, body: Buffer) =>
    fetch(url, { method: 'PUT', body, headers: { 'content-type': 'text/plain' } });
  const keyOf = async (id: string) =>
    (
      await db.query<{ object_key: string }>('select object_key from sessions.attachments where id = $1', [
        id,
      ])
    ).rows[0]?.object_key;

  beforeAll(async () => {
    stack = await startTestStack({ transport: 'embedded' });
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    alice = await stack.token('alice');
    bob = await stack.token('bob');
    const session = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "With files" }) { id } }',
    );
    const added = await stack.gql<{ addMessage: { id: string } }>(
      alice,
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "see attached" }) { id } }',
      { s: session.data!.createSession.id },
    );
    message = added.data!.addMessage.id;
  });
  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  it('uploads to the presigned URL, confirms, lists and downloads the same bytes', async () => {
    const body = Buffer.from('the retrieved context, as a file');
    const requested = await request(alice, body);
    expect(requested.errors).toBeUndefined();
    const { uploadUrl, attachment } = requested.data!.requestAttachmentUpload;
    expect(attachment.status).toBe('PENDING');
    expect((await put(uploadUrl, body)).status).toBe(200);

    const confirmed = await stack.gql<{ confirmAttachmentUpload: { status: string; downloadUrl: string } }>(
      alice,
      CONFIRM,
      { id: attachment.id },
    );
    expect(confirmed.errors).toBeUndefined();
    expect(confirmed.data!.confirmAttachmentUpload.status).toBe('READY');
    const download = await fetch(confirmed.data!.confirmAttachmentUpload.downloadUrl);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('text/plain');
    expect(sha(Buffer.from(await download.arrayBuffer()))).toBe(sha(body));

    const again = await stack.gql<{ confirmAttachmentUpload: { status: string } }>(alice, CONFIRM, {
      id: attachment.id,
    });
    expect(again.data!.confirmAttachmentUpload.status).toBe('READY');
    const listed = await stack.gql<{
      session: { messages: { edges: { node: { attachments: unknown[] } }[] } };
    }>(
      alice,
      `query ($id: ID!) { attachment(id: $id) { message { id attachments { id filename size status } } } }`,
      { id: attachment.id },
    );
    expect(listed.data).toEqual({
      attachment: {
        message: {
          id: message,
          attachments: [{ id: attachment.id, filename: 'notes.txt', size: body.length, status: 'READY' }],
        },
      },
    });
    // A page of messages gets its attachments in one batch, each message its own.
    const sessionOf = await db.query<{ session_id: string }>(
      'select session_id from sessions.messages where id = $1',
      [message],
    );
    await stack.gql(
      alice,
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: assistant, content: "no files" }) { id } }',
      { s: sessionOf.rows[0]!.session_id },
    );
    const page = await stack.gql<{
      attachment: {
        message: {
          session: { messages: { edges: { node: { id: string; attachments: { id: string }[] } }[] } };
        };
      };
    }>(
      alice,
      `query ($id: ID!) { attachment(id: $id) { message { session { messages { edges { node { id attachments { id } } } } } } } }`,
      { id: attachment.id },
    );
    expect(page.errors).toBeUndefined();
    const nodes = page.data!.attachment.message.session.messages.edges.map((e) => e.node);
    expect(nodes.map((n) => n.attachments)).toEqual([[{ id: attachment.id }], []]);
    const events = await eventually(async () => {
      const { rows } = await db.query<{ value: string }>(
        `select value from eventlog.messages where value::jsonb ->> 'subject' = $1`,
        [attachment.id],
      );
      const types = rows.map((r) => (JSON.parse(r.value) as { type: string }).type);
      return types.includes('attachment.ready') ? types : undefined;
    });
    expect(events.sort()).toEqual(['attachment.ready', 'attachment.requested']);
    const audited = await eventually(async () => {
      const { rows } = await db.query<{ actor_id: string; entity_type: string; outcome: string }>(
        `select actor_id, entity_type, outcome from audit.records where action = 'attachment.ready' and entity_id = $1`,
        [attachment.id],
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(audited).toEqual([{ actor_id: 'alice', entity_type: 'attachment', outcome: 'success' }]);
  });

  it('accepts the upload through the presigned POST form as well', async () => {
    const body = Buffer.from('sent as a form');
    const requested = await request(alice, body);
    const { uploadForm, attachment } = requested.data!.requestAttachmentUpload;
    expect(uploadForm.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['key', 'policy', 'Content-Type', 'x-amz-signature']),
    );
    const form = new FormData();
    for (const field of uploadForm.fields) form.append(field.name, field.value);
    form.append('file', new Blob([body], { type: 'text/plain' }));
    const posted = await fetch(uploadForm.url, { method: 'POST', body: form });
    expect(posted.status).toBeLessThan(300);
    const confirmed = await stack.gql<{ confirmAttachmentUpload: { status: string } }>(alice, CONFIRM, {
      id: attachment.id,
    });
    expect(confirmed.data?.confirmAttachmentUpload.status).toBe('READY');
  });

  it('rejects a confirmation before the upload, with a wrong checksum or with a wrong size', async () => {
    const body = Buffer.from('declared content');
    const early = await request(alice, body);
    const earlyId = early.data!.requestAttachmentUpload.attachment.id;
    const notUploaded = await stack.gql(alice, CONFIRM, { id: earlyId });
    expect(notUploaded.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'NOT_UPLOADED' });

    const tampered = Buffer.from('declared contenT'); // same size, other bytes
    await put(early.data!.requestAttachmentUpload.uploadUrl, tampered);
    const wrongSum = await stack.gql(alice, CONFIRM, { id: earlyId });
    expect(wrongSum.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'CHECKSUM_MISMATCH' });
    // The rejected object is deleted and the attachment stays pending.
    expect(await stack.parley.objects.stat((await keyOf(earlyId))!)).toBeNull();

    const sized = await request(alice, body);
    await put(sized.data!.requestAttachmentUpload.uploadUrl, Buffer.concat([body, Buffer.from('!')]));
    const wrongSize = await stack.gql(alice, CONFIRM, {
      id: sized.data!.requestAttachmentUpload.attachment.id,
    });
    expect(wrongSize.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'SIZE_MISMATCH' });
    const state = await stack.gql<{ attachment: { status: string; downloadUrl: null } }>(alice, ATTACHMENT, {
      id: earlyId,
    });
    expect(state.data?.attachment).toMatchObject({ status: 'PENDING', downloadUrl: null });
  });

  it('enforces the size limit, the content-type allow-list and the checksum format', async () => {
    const body = Buffer.from('x');
    const tooLarge = await request(alice, body, { size: 25 * 1024 * 1024 + 1 });
    expect(tooLarge.errors?.[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'size' });
    const exe = await request(alice, body, { contentType: 'application/x-msdownload' });
    expect(exe.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'contentType' });
    const checksum = await request(alice, body, { sha256: 'abc' });
    expect(checksum.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sha256' });
    const name = await request(alice, body, { filename: '../etc/passwd' });
    expect(name.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filename' });
    const empty = await request(alice, body, { size: 0 });
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'size' });
  });

  it('answers NOT_FOUND to user B for user A’s attachment and message, and audits the attempts', async () => {
    const body = Buffer.from('private');
    const requested = await request(alice, body);
    const id = requested.data!.requestAttachmentUpload.attachment.id;
    await put(requested.data!.requestAttachmentUpload.uploadUrl, body);
    const attempts = [
      await stack.gql(bob, ATTACHMENT, { id }),
      await stack.gql(bob, CONFIRM, { id }),
      await stack.gql(bob, REMOVE, { id }),
      await request(bob, body),
    ];
    for (const r of attempts) expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const unknown = await stack.gql(bob, ATTACHMENT, { id: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const still = await stack.gql<{ attachment: { status: string } }>(alice, ATTACHMENT, { id });
    expect(still.data?.attachment.status).toBe('PENDING');
    const denied = await eventually(async () => {
      const { rows } = await db.query<{ n: string }>(
        `select count(*)::text as n from eventlog.messages
         where value::jsonb ->> 'type' = 'security.access-denied' and value::jsonb ->> 'subject' in ($1, $2)`,
        [id, message],
      );
      return Number(rows[0]!.n) >= 4 ? Number(rows[0]!.n) : undefined;
    });
    expect(denied).toBe(4);
  });

  it('deletes the object when the attachment is removed', async () => {
    const body = Buffer.from('to be removed');
    const requested = await request(alice, body);
    const id = requested.data!.requestAttachmentUpload.attachment.id;
    await put(requested.data!.requestAttachmentUpload.uploadUrl, body);
    await stack.gql(alice, CONFIRM, { id });
    const key = (await keyOf(id))!;
    expect(await stack.parley.objects.stat(key)).toEqual({ size: body.length });
    const removed = await stack.gql<{ removeAttachment: string }>(alice, REMOVE, { id });
    expect(removed.data?.removeAttachment).toBe(id);
    expect(await stack.parley.objects.stat(key)).toBeNull();
    const gone = await stack.gql(alice, ATTACHMENT, { id });
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('lets the cleanup job remove uploads never confirmed, and nothing else', async () => {
    const body = Buffer.from('abandoned upload');
    const abandoned = await request(alice, body);
    const abandonedId = abandoned.data!.requestAttachmentUpload.attachment.id;
    await put(abandoned.data!.requestAttachmentUpload.uploadUrl, body);
    const kept = await request(alice, body);
    const keptId = kept.data!.requestAttachmentUpload.attachment.id;
    await put(kept.data!.requestAttachmentUpload.uploadUrl, body);
    await stack.gql(alice, CONFIRM, { id: keptId });
    const abandonedKey = (await keyOf(abandonedId))!;

    const objects = stack.parley.objects;
    const em = () => stack.parley.subgraphs.sessions.db.fork();
    // Not old enough yet: nothing happens.
    expect(await cleanupAttachments(em(), objects, { pendingUploadMaxAgeSeconds: 3600 })).toEqual({
      expired: 0,
      orphaned: 0,
    });
    const later = new Date(Date.now() + 2 * 3600 * 1000);
    const swept = await cleanupAttachments(em(), objects, { pendingUploadMaxAgeSeconds: 3600 }, later);
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect(await keyOf(abandonedId)).toBeUndefined();
    expect(await objects.stat(abandonedKey)).toBeNull();
    const ready = await stack.gql<{ attachment: { status: string } }>(alice, ATTACHMENT, { id: keptId });
    expect(ready.data?.attachment.status).toBe('READY');
    const { rows } = await db.query<{ value: string }>(
      `select payload as value from sessions.outbox where payload::jsonb ->> 'subject' = $1
       union all select value from eventlog.messages where value::jsonb ->> 'subject' = $1`,
      [abandonedId],
    );
    expect(rows.map((r) => (JSON.parse(r.value) as { data: { reason: string } }).data.reason)).toContain(
      'expired',
    );
  });

  it('removes the attachment objects of a deleted session when it is purged after the grace period', async () => {
    const session = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "To purge" }) { id } }',
    );
    const sessionId = session.data!.createSession.id;
    const added = await stack.gql<{ addMessage: { id: string } }>(
      alice,
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "two files" }) { id } }',
      { s: sessionId },
    );
    const objects = stack.parley.objects;
    const keys: string[] = [];
    for (const text of ['one', 'two']) {
      const body = Buffer.from(text);
      const requested = await request(alice, body, { messageId: added.data!.addMessage.id });
      const id = requested.data!.requestAttachmentUpload.attachment.id;
      await put(requested.data!.requestAttachmentUpload.uploadUrl, body);
      await stack.gql(alice, CONFIRM, { id });
      keys.push((await keyOf(id))!);
    }
    await stack.gql(alice, 'mutation ($id: ID!) { deleteSession(id: $id) { id } }', { id: sessionId });
    // Still restorable: the objects stay.
    expect(
      await purgeExpiredSessions(stack.parley.subgraphs.sessions.db, { graceMs: 60_000, objects }),
    ).toEqual([]);
    for (const key of keys) expect(await stack.parley.objects.stat(key)).not.toBeNull();

    const purged = await purgeExpiredSessions(stack.parley.subgraphs.sessions.db, {
      graceMs: 0,
      now: new Date(Date.now() + 1000),
      objects,
    });
    expect(purged).toContain(sessionId);
    for (const key of keys) expect(await stack.parley.objects.stat(key)).toBeNull();
    const { rows } = await db.query('select id from sessions.attachments where session_id = $1', [sessionId]);
    expect(rows).toEqual([]);
    const { rows: events } = await db.query<{ value: string }>(
      `select payload as value from sessions.outbox where payload::jsonb ->> 'type' = 'attachment.removed'
       union all select value from eventlog.messages where value::jsonb ->> 'type' = 'attachment.removed'`,
    );
    const removals = events
      .map((r) => JSON.parse(r.value) as { data: { sessionId: string; reason: string } })
      .filter((e) => e.data.sessionId === sessionId);
    expect(removals.map((e) => e.data.reason)).toEqual(['session-removed', 'session-removed']);
  });

  it('lets the cleanup job remove the attachments of a message deleted without removing them', async () => {
    const session = await stack.gql<{ createSession: { id: string } }>(
      alice,
      'mutation { createSession(input: { title: "Deleted elsewhere" }) { id } }',
    );
    const added = await stack.gql<{ addMessage: { id: string } }>(
      alice,
      'mutation ($s: ID!) { addMessage(input: { sessionId: $s, role: user, content: "soon gone" }) { id } }',
      { s: session.data!.createSession.id },
    );
    const body = Buffer.from('left behind');
    const requested = await request(alice, body, { messageId: added.data!.addMessage.id });
    const id = requested.data!.requestAttachmentUpload.attachment.id;
    await put(requested.data!.requestAttachmentUpload.uploadUrl, body);
    await stack.gql(alice, CONFIRM, { id });
    const key = (await keyOf(id))!;
    // A purge that deletes the session (and, by cascade, its messages) but not the attachments.
    await db.query('delete from sessions.sessions where id = $1', [session.data!.createSession.id]);
    const em = stack.parley.subgraphs.sessions.db.fork();
    const swept = await cleanupAttachments(em, stack.parley.objects, { pendingUploadMaxAgeSeconds: 3600 });
    expect(swept.orphaned).toBe(1);
    expect(await keyOf(id)).toBeUndefined();
    expect(await stack.parley.objects.stat(key)).toBeNull();
  });
});
