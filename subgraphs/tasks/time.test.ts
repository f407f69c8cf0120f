import { describe, expect, it } from '@jest/globals';
import { dayBounds, isTimeZone, nextOccurrence, parseDue, rruleProblem } from './time.ts';

describe('recurrence in a time zone', () => {
  it('keeps a daily 09:00 in Europe/Berlin at 09:00 local across the March DST change', () => {
    const start = new Date('2026-03-27T08:00:00Z'); // 09:00 CET
    const sat = nextOccurrence('FREQ=DAILY', 'Europe/Berlin', start, start);
    const sun = nextOccurrence('FREQ=DAILY', 'Europe/Berlin', start, sat!);
    const mon = nextOccurrence('FREQ=DAILY', 'Europe/Berlin', start, sun!);
    expect([sat, sun, mon].map((d) => d?.toISOString())).toEqual([
      '2026-03-28T08:00:00.000Z', // 09:00 CET (+01:00)
      '2026-03-29T07:00:00.000Z', // 09:00 CEST (+02:00), the day clocks go forward
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('keeps a weekly Monday 08:30 in America/New_York at 08:30 local across the November DST change', () => {
    const start = new Date('2026-10-26T12:30:00Z'); // Monday 08:30 EDT
    const first = nextOccurrence('FREQ=WEEKLY;BYDAY=MO', 'America/New_York', start, start);
    const second = nextOccurrence('FREQ=WEEKLY;BYDAY=MO', 'America/New_York', start, first!);
    expect(first?.toISOString()).toBe('2026-11-02T13:30:00.000Z'); // 08:30 EST (-05:00)
    expect(second?.toISOString()).toBe('2026-11-09T13:30:00.000Z');
  });

  it('omits an occurrence whose wall time does not exist (02:30 on the spring-forward day), as RFC 5545 requires', () => {
    const start = new Date('2026-03-27T01:30:00Z'); // 02:30 CET on Friday
    const next = nextOccurrence('FREQ=DAILY', 'Europe/Berlin', start, new Date('2026-03-28T12:00:00Z'));
    // RFC 5545 §3.3.10: instances with a nonexistent local time are ignored; Monday 02:30 CEST follows.
    expect(next?.toISOString()).toBe('2026-03-30T00:30:00.000Z');
  });

  it('renews the passport every year on March 1st at 9 in the user’s zone', () => {
    const start = new Date('2027-03-01T08:00:00Z');
    expect(
      nextOccurrence('FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1', 'Europe/Berlin', start, start)?.toISOString(),
    ).toBe('2028-03-01T08:00:00.000Z');
  });

  it('ends a series after COUNT occurrences', () => {
    const start = new Date('2026-01-01T09:00:00Z');
    const second = nextOccurrence('FREQ=DAILY;COUNT=2', 'UTC', start, start);
    expect(second?.toISOString()).toBe('2026-01-02T09:00:00.000Z');
    expect(nextOccurrence('FREQ=DAILY;COUNT=2', 'UTC', start, second!)).toBeNull();
  });

  it('refuses rules it does not support, with a reason', () => {
    expect(rruleProblem('FREQ=DAILY;INTERVAL=2')).toBeNull();
    expect(rruleProblem('FREQ=MINUTELY')).toMatch(/FREQ/);
    expect(rruleProblem('DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY')).toMatch(/DTSTART/);
    expect(rruleProblem('FREQ=DAILY;BYDAY=XX')).toMatch(/invalid/);
  });
});

describe('natural-language due times', () => {
  const now = new Date('2026-03-27T12:00:00Z'); // Friday 13:00 in Berlin

  it('reads "tomorrow 9am" as 09:00 local the next day', () => {
    const due = parseDue('tomorrow 9am', 'Europe/Berlin', now);
    expect(due?.at.toISOString()).toBe('2026-03-28T08:00:00.000Z');
    expect(due?.interpreted).toBe('2026-03-28T09:00:00+01:00[Europe/Berlin]');
  });

  it('reads "next friday" after the DST change as 09:00 summer time', () => {
    const due = parseDue('next friday', 'Europe/Berlin', now);
    expect(due?.interpreted).toBe('2026-04-03T09:00:00+02:00[Europe/Berlin]');
  });

  it('adds exact durations to now', () => {
    expect(parseDue('in 2 hours', 'America/New_York', now)?.at.toISOString()).toBe(
      '2026-03-27T14:00:00.000Z',
    );
  });

  it('understands nothing in gibberish', () => {
    expect(parseDue('blorp', 'UTC', now)).toBeNull();
  });
});

describe('local days', () => {
  it('knows when today starts and ends in the user’s zone', () => {
    const { start, end } = dayBounds('America/New_York', new Date('2026-03-08T12:00:00Z'));
    expect(start.toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(end.toISOString()).toBe('2026-03-09T04:00:00.000Z'); // a 23-hour day
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
