import { defineEntity, p } from '@mikro-orm/postgresql';
import { OutboxEvent } from '../../platform/events/outbox.ts';
import { ProcessedEvent } from '../../platform/events/consumer.ts';

export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.uuid().primary(),
    ownerId: p.string().index(),
    title: p.string(),
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

export const sessionsEntities = [Session, Message, SessionStats, OutboxEvent, ProcessedEvent];
