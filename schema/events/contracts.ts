import { z } from 'zod';

/**
 * Contracts of every event type. An event's `type` + `schemaVersion` select the schema
 * its `data` must satisfy, on produce and again on consume. Adding an optional field is
 * compatible; anything else is a new schemaVersion.
 */

const id = z.string().min(1).max(200);
const isoTime = z.iso.datetime({ offset: true });

export const eventContracts = {
  'session.created': { topic: 'session-events', v1: z.object({ sessionId: id, title: z.string().max(500) }) },
  'session.renamed': { topic: 'session-events', v1: z.object({ sessionId: id, title: z.string().max(500) }) },
  'message.added': {
    topic: 'session-events',
    v1: z.object({
      sessionId: id,
      messageId: id,
      role: z.enum(['user', 'assistant', 'system', 'tool']),
      preview: z.string().max(280),
      createdAt: isoTime,
    }),
  },
  'session.stats-updated': {
    topic: 'session-events',
    v1: z.object({ sessionId: id, messageCount: z.number().int().nonnegative(), lastActivityAt: isoTime }),
  },
  'task.created': {
    topic: 'task-events',
    v1: z.object({ taskId: id, title: z.string().max(500), sessionId: id.nullable() }),
  },
  'task.completed': { topic: 'task-events', v1: z.object({ taskId: id }) },
} as const;

export type EventType = keyof typeof eventContracts;
export type EventData<T extends EventType> = z.infer<(typeof eventContracts)[T]['v1']>;
export const eventTypes = Object.keys(eventContracts) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventContracts, type);
}
