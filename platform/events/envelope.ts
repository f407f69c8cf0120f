import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  eventContracts,
  isEventType,
  type EventData,
  type EventType,
} from '../../schema/events/contracts.ts';

/** Who caused an event and from where; the audit trail records it as given. */
export interface EventActor {
  via?: 'jwt' | 'api-key' | 'system';
  apiKeyId?: string;
  ip?: string;
  userAgent?: string;
}

/** A changed field's value before and after (absent when created or removed). */
export type FieldChanges = Record<string, { before?: unknown; after?: unknown }>;

/** CloudEvents-shaped envelope carried as the Kafka message value. */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  source: string;
  subject: string;
  time: string;
  /** The user the event concerns (and the partition key): the actor, or the owner acted upon. */
  userId: string;
  schemaVersion: number;
  data: EventData<T>;
  actor?: EventActor;
  requestId?: string;
  traceId?: string;
  changes?: FieldChanges;
}

/** UUIDv7: time-ordered, so ids sort by creation and index well. */
export function uuidv7(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

export function newEvent<T extends EventType>(input: {
  type: T;
  source: string;
  subject: string;
  userId: string;
  data: EventData<T>;
  actor?: EventActor;
  requestId?: string;
  traceId?: string;
  changes?: FieldChanges;
}): EventEnvelope<T> {
  return validateEvent({
    id: uuidv7(),
    time: new Date().toISOString(),
    schemaVersion: 1,
    ...input,
  }) as EventEnvelope<T>;
}

export const topicOf = (type: EventType) => eventContracts[type].topic;

const optionalText = z.string().max(1000).optional();
const envelopeContext = z.object({
  actor: z
    .object({
      via: z.enum(['jwt', 'api-key', 'system']).optional(),
      apiKeyId: optionalText,
      ip: optionalText,
      userAgent: optionalText,
    })
    .optional(),
  requestId: optionalText,
  traceId: optionalText,
  changes: z
    .record(z.string().max(200), z.object({ before: z.unknown().optional(), after: z.unknown().optional() }))
    .optional(),
});

/** Checks the envelope and the data against the type's contract; throws InvalidEventError. */
export function validateEvent(value: unknown): EventEnvelope {
  if (typeof value !== 'object' || value === null) throw new InvalidEventError('event is not an object');
  const e = value as Record<string, unknown>;
  for (const field of ['id', 'type', 'source', 'subject', 'time', 'userId'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '')
      throw new InvalidEventError(`envelope field "${field}" missing`);
  }
  const type = e.type as string;
  if (!isEventType(type)) throw new InvalidEventError(`unknown event type "${type}"`);
  if (e.schemaVersion !== 1)
    throw new InvalidEventError(`unsupported schemaVersion ${String(e.schemaVersion)} for ${type}`);
  const context = envelopeContext.safeParse(e);
  if (!context.success) {
    throw new InvalidEventError(
      `${type} envelope invalid: ${context.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const parsed = eventContracts[type].v1.safeParse(e.data);
  if (!parsed.success) {
    throw new InvalidEventError(
      `${type} data invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return { ...(e as unknown as EventEnvelope), data: parsed.data };
}

export function parseEvent(raw: string): EventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidEventError('message value is not JSON');
  }
  return validateEvent(value);
}
