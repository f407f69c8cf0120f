import { describe, expect, it } from '@jest/globals';
import { InvalidEventError, newEvent, parseEvent, uuidv7, validateEvent } from './envelope.ts';

const valid = () =>
  newEvent({
    type: 'session.created',
    source: 'sessions',
    subject: 's1',
    userId: 'u1',
    data: { sessionId: 's1', title: 'Hi' },
  });

describe('event envelopes', () => {
  it('carries CloudEvents fields and a time-ordered UUIDv7 id', () => {
    const event = valid();
    expect(event).toMatchObject({
      type: 'session.created',
      source: 'sessions',
      subject: 's1',
      userId: 'u1',
      schemaVersion: 1,
    });
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7(1000) < uuidv7(2000)).toBe(true);
  });

  it('round-trips through JSON', () => {
    const event = valid();
    expect(parseEvent(JSON.stringify(event))).toEqual(event);
  });

  it('refuses data that breaks the type’s contract, naming the field', () => {
    expect(() => validateEvent({ ...valid(), data: { sessionId: 's1' } })).toThrow(
      /session.created data invalid: title/,
    );
  });

  it('refuses unknown types, unknown versions, missing envelope fields and non-JSON', () => {
    expect(() => validateEvent({ ...valid(), type: 'session.exploded' })).toThrow(InvalidEventError);
    expect(() => validateEvent({ ...valid(), schemaVersion: 9 })).toThrow(/schemaVersion/);
    expect(() => validateEvent({ ...valid(), userId: '' })).toThrow(/userId/);
    expect(() => parseEvent('{not json')).toThrow(/not JSON/);
  });
});
