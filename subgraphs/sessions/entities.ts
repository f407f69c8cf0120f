import { defineEntity, p } from '@mikro-orm/postgresql';
import { OutboxEvent } from '../../platform/events/outbox.ts';
import { ProcessedEvent } from '../../platform/events/consumer.ts';

/** One retrieved chunk of RAG context stored with a message. */
export interface RetrievedChunk {
  sourceId: string;
  uri: string | null;
  title: string | null;
  snippet: string;
  score: number;
}

export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.uuid().primary(),
    ownerId: p.string().index(),
    title: p.string(),
    favorite: p.boolean().default(false),
    archivedAt: p.datetime().nullable(),
    /** Soft delete: the session is hidden and purged after the grace period unless restored. */
    deletedAt: p.datetime().nullable(),
    tags: p.array().default([]),
    /** Position of the session's last message; bumped under the row lock so positions commit in order. */
    messageSeq: p.integer().default(0),
    forkedFromSessionId: p.uuid().nullable(),
    forkedFromMessageId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class Session extends SessionSchema.class {}
SessionSchema.setClass(Session);

export const MessageSchema = defineEntity({
  name: 'Message',
  tableName: 'messages',
  properties: {
    id: p.uuid().primary(),
    sessionId: p.uuid(),
    ownerId: p.string(),
    role: p.string(),
    content: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** 1-based position within the session: the stable cursor key. */
    seq: p.integer(),
    idempotencyKey: p.string().nullable(),
    parentId: p.uuid().nullable(),
    tokenCount: p.integer().nullable(),
    metadata: p.json<Record<string, unknown>>().nullable(),
    context: p.json<RetrievedChunk[]>().nullable(),
    // `embedding` (real[]) and `search_tsv` are written and read by SQL only (search.ts).
  },
});
export class Message extends MessageSchema.class {}
MessageSchema.setClass(Message);

/** Projection kept by the session-stats processor; the subgraph only reads it. */
export const SessionStatsSchema = defineEntity({
  name: 'SessionStats',
  tableName: 'session_stats',
  properties: {
    sessionId: p.uuid().primary(),
    ownerId: p.string(),
    messageCount: p.integer().default(0),
    lastActivityAt: p.datetime().nullable(),
    lastMessagePreview: p.string().length(280).nullable(),
  },
});
export class SessionStats extends SessionStatsSchema.class {}
SessionStatsSchema.setClass(SessionStats);

/** As addressed by id in resolvers (platform/graphql/owned.ts). */
export const SESSION = { entity: Session, type: 'session', label: 'Session' };
export const MESSAGE = { entity: Message, type: 'message', label: 'Message' };

export const sessionsEntities = [Session, Message, SessionStats, OutboxEvent, ProcessedEvent];
