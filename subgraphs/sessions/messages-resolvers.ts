import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../../platform/errors.ts';
import { MAX_PAGE_SIZE } from '../../platform/graphql/pagination.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { MESSAGE, Message, Session, type RetrievedChunk } from './entities.ts';
import { ownSession } from './sessions-resolvers.ts';
import {
  LIMITS,
  conflict,
  decodeMessageCursor,
  encodeMessageCursor,
  isUuid,
  tooLarge,
  validContent,
  validContext,
  validEmbedding,
  validIdempotencyKey,
  validMetadata,
  validTitle,
  validTokenCount,
  type RetrievedChunkInput,
} from './validation.ts';
import { ownedForChange, ownedOrNull } from '../../platform/graphql/owned.ts';

type Role = 'user' | 'assistant' | 'system' | 'tool';

export interface AddMessageInput {
  sessionId: string;
  role: Role;
  content: string;
  idempotencyKey?: string | null;
  parentId?: string | null;
  tokenCount?: number | null;
  metadata?: unknown;
  context?: RetrievedChunkInput[] | null;
  embedding?: number[] | null;
}

const PREVIEW = 280;

/** A retry with the same key must describe the same message; anything else is a client bug. */
function sameMessage(existing: Message, input: AddMessageInput): Message {
  if (existing.role !== input.role || existing.content !== input.content)
    throw conflict('idempotencyKey was already used for a different message in this session');
  return existing;
}

async function byKey(em: EntityManager, sessionId: string, key: string): Promise<Message | null> {
  return em.findOne(Message, { sessionId, idempotencyKey: key }, { refresh: true });
}

/**
 * Appends a message. The session row is locked while the message's position is taken, so
 * positions become visible in order (cursors never skip a message that commits late) and
 * concurrent retries with one idempotency key queue up: the first inserts, the others read it
 * back. The unique (session_id, idempotency_key) index with `on conflict do nothing` is the
 * backstop should anything bypass the lock.
 */
async function addMessage(_: unknown, { input }: { input: AddMessageInput }, ctx: DomainContext) {
  const user = requireUser(ctx);
  const content = validContent(input.content);
  const key = validIdempotencyKey(input.idempotencyKey);
  const tokenCount = validTokenCount(input.tokenCount);
  const metadata = validMetadata(input.metadata);
  const context = validContext(input.context);
  const embedding = validEmbedding(input.embedding);
  if (input.parentId !== null && input.parentId !== undefined && !isUuid(input.parentId))
    throw badInput('parentId', 'parentId is not a message of this session');
  const session = await ownSession(ctx, input.sessionId, 'addMessage');
  if (session.archivedAt) throw conflict('Session is archived; unarchive it to add messages');
  if (key) {
    const existing = await byKey(ctx.em, session.id, key);
    if (existing) return sameMessage(existing, input);
  }
  if (input.parentId) {
    const parent = await ctx.em.findOne(Message, { id: input.parentId, sessionId: session.id });
    if (!parent) throw badInput('parentId', 'parentId is not a message of this session');
  }

  const em = ctx.em;
  const id = randomUUID();
  const createdAt = new Date();
  await em.begin();
  try {
    const connection = em.getConnection();
    const locked = await connection.execute<{ message_seq: number }[]>(
      `update sessions.sessions set message_seq = message_seq + 1, updated_at = ?
        where id = ? and deleted_at is null returning message_seq`,
      [createdAt, session.id],
      'all',
      em.getTransactionContext(),
    );
    const seq = locked[0]?.message_seq;
    if (seq === undefined) throw conflict('Session is deleted; restore it first');
    const inserted = await connection.execute<{ id: string }[]>(
      `insert into sessions.messages
         (id, session_id, owner_id, role, content, created_at, seq, idempotency_key, parent_id,
          token_count, metadata, context, embedding)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb,
               (select array_agg(x::real) from jsonb_array_elements_text(?::jsonb) x))
       on conflict (session_id, idempotency_key) where idempotency_key is not null do nothing
       returning id`,
      [
        id,
        session.id,
        user.userId,
        input.role,
        content,
        createdAt,
        seq,
        key,
        input.parentId ?? null,
        tokenCount,
        metadata === null ? null : JSON.stringify(metadata),
        context === null ? null : JSON.stringify(context),
        embedding === null ? null : JSON.stringify(embedding),
      ],
      'all',
      em.getTransactionContext(),
    );
    if (inserted.length === 0) {
      // Lost a race on the key: nothing of ours is kept, the winner's message is the answer.
      await em.rollback();
      return sameMessage((await byKey(em, session.id, key!))!, input);
    }
    ctx.emit('message.added', session.id, {
      sessionId: session.id,
      messageId: id,
      role: input.role,
      preview: content.slice(0, PREVIEW),
      createdAt: createdAt.toISOString(),
    });
    await em.commit();
  } catch (error) {
    await em.rollback().catch(() => undefined);
    throw error;
  }
  await ctx.commit(); // nothing left to flush; wakes the outbox relay
  return em.findOneOrFail(Message, { id });
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

function sizeOf(value: number | null | undefined, field: string, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE)
    throw badInput(field, `${field} must be between 1 and ${MAX_PAGE_SIZE}`);
  return n;
}

/** What the Message type resolves from: an entity, or a row read by SQL on the hot page path. */
export interface MessageView {
  id: string;
  sessionId: string;
  ownerId: string;
  role: string;
  content: string;
  createdAt: Date;
  seq: number;
  idempotencyKey?: string | null;
  parentId?: string | null;
  tokenCount?: number | null;
  metadata?: Record<string, unknown> | null;
  context?: RetrievedChunk[] | null;
}

export interface MessageRow {
  id: string;
  session_id: string;
  owner_id: string;
  role: string;
  content: string;
  created_at: Date | string;
  seq: number;
  idempotency_key: string | null;
  parent_id: string | null;
  token_count: number | null;
  metadata: unknown;
  context: unknown;
}

const json = <T>(value: unknown): T | null =>
  value === null || value === undefined
    ? null
    : ((typeof value === 'string' ? JSON.parse(value) : value) as T);

export function viewOf(row: MessageRow): MessageView {
  return {
    id: row.id,
    sessionId: row.session_id,
    ownerId: row.owner_id,
    role: row.role,
    content: row.content,
    createdAt: new Date(row.created_at),
    seq: row.seq,
    idempotencyKey: row.idempotency_key,
    parentId: row.parent_id,
    tokenCount: row.token_count,
    metadata: json<Record<string, unknown>>(row.metadata),
    context: json<RetrievedChunk[]>(row.context),
  };
}

/**
 * Relay pagination in both directions over the session's message positions. Plain SQL over
 * the (session_id, seq) index: a page is read-only, so it skips the ORM's hydration and
 * identity map, which were the largest cost of this hot path.
 */
export async function messagesPage(em: EntityManager, sessionId: string, args: PageArgs) {
  if (args.first !== null && args.first !== undefined && args.last !== null && args.last !== undefined)
    throw badInput('last', 'Pass either first or last, not both');
  const after = decodeMessageCursor(args.after, 'after');
  const before = decodeMessageCursor(args.before, 'before');
  const backward = (args.last !== null && args.last !== undefined) || (before !== undefined && !args.first);
  const size = backward ? sizeOf(args.last, 'last', 50) : sizeOf(args.first, 'first', 50);
  const where = ['session_id = ?'];
  const params: unknown[] = [sessionId];
  if (after !== undefined) {
    where.push('seq > ?');
    params.push(after);
  }
  if (before !== undefined) {
    where.push('seq < ?');
    params.push(before);
  }
  const rows = await em.getConnection().execute<MessageRow[]>(
    `select id, session_id, owner_id, role, content, created_at, seq, idempotency_key, parent_id,
            token_count, metadata, context
       from sessions.messages where ${where.join(' and ')}
      order by seq ${backward ? 'desc' : 'asc'} limit ${size + 1}`,
    params,
  );
  const more = rows.length > size;
  const nodes = rows.slice(0, size).map(viewOf);
  if (backward) nodes.reverse();
  const edges = nodes.map((node) => ({ cursor: encodeMessageCursor(node.seq), node }));
  return {
    edges,
    pageInfo: {
      // Messages are only removed with their whole session, so a cursor's neighbours exist.
      hasNextPage: backward ? before !== undefined : more,
      hasPreviousPage: backward ? more : after !== undefined && after > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/**
 * Forks a session at one of its messages: a new session of the same owner with copies of the
 * messages up to and including that one (positions, times, parents and embeddings kept;
 * idempotency keys are not, they belong to the original).
 */
async function forkSession(
  _: unknown,
  { messageId, title }: { messageId: string; title?: string | null },
  ctx: DomainContext,
) {
  const user = requireUser(ctx);
  const message = await ownedForChange(ctx, MESSAGE, messageId, 'forkSession');
  const source = await ownSession(ctx, message.sessionId, 'forkSession');
  if (message.seq > LIMITS.forkMessages)
    throw tooLarge('messageId', `A fork copies at most ${LIMITS.forkMessages} messages`);
  const forkTitle =
    title === null || title === undefined
      ? `${source.title.slice(0, LIMITS.title - 7)} (fork)`
      : validTitle(title);
  const em = ctx.em;
  const now = new Date();
  const fork = em.create(Session, {
    id: randomUUID(),
    ownerId: user.userId,
    title: forkTitle,
    tags: [...source.tags],
    favorite: false,
    messageSeq: message.seq,
    forkedFromSessionId: source.id,
    forkedFromMessageId: message.id,
    createdAt: now,
    updatedAt: now,
  });
  await em.begin();
  try {
    await em.flush(); // the session row first: the copies reference it
    const [copied] = await em.getConnection().execute<{ n: number; last_at: Date | null }[]>(
      `with src as (
         select m.*, gen_random_uuid() as new_id from sessions.messages m
          where m.session_id = ? and m.seq <= ?),
       ins as (
         insert into sessions.messages
           (id, session_id, owner_id, role, content, created_at, seq, idempotency_key, parent_id,
            token_count, metadata, context, embedding)
         select s.new_id, ?, s.owner_id, s.role, s.content, s.created_at, s.seq, null,
                (select p.new_id from src p where p.id = s.parent_id),
                s.token_count, s.metadata, s.context, s.embedding
           from src s
         returning created_at)
       select count(*)::int as n, max(created_at) as last_at from ins`,
      [source.id, message.seq, fork.id],
      'all',
      em.getTransactionContext(),
    );
    ctx.emit('session.forked', fork.id, {
      sessionId: fork.id,
      title: fork.title,
      sourceSessionId: source.id,
      fromMessageId: message.id,
      messageCount: copied?.n ?? 0,
      lastActivityAt: new Date(copied?.last_at ?? now).toISOString(),
      preview: message.content.slice(0, PREVIEW),
    });
    await em.commit();
  } catch (error) {
    await em.rollback().catch(() => undefined);
    throw error;
  }
  await ctx.commit();
  return fork;
}

export const messageMutations = { addMessage, forkSession };

export const messageQueries = {
  message: (_: unknown, { id }: { id: string }, ctx: DomainContext) =>
    ownedOrNull(ctx, MESSAGE, id, 'message'),
};

export const messageFields = {
  session: (message: MessageView, _: unknown, ctx: DomainContext) =>
    ctx.em.findOne(Session, { id: message.sessionId, ownerId: message.ownerId }),
  position: (message: MessageView) => message.seq,
  parent: (message: MessageView, _: unknown, ctx: DomainContext) =>
    message.parentId ? ctx.em.findOne(Message, { id: message.parentId, ownerId: message.ownerId }) : null,
  context: (message: MessageView) => message.context ?? [],
};

export const sessionMessagesField = (session: Session, args: PageArgs, ctx: DomainContext) =>
  messagesPage(ctx.em, session.id, args);
