import * as chrono from 'chrono-node';
import { RRuleTemporal } from 'rrule-temporal';
import { Temporal } from 'temporal-polyfill';

/**
 * Time zones, natural-language due input and RFC 5545 recurrence. Wall-clock arithmetic goes
 * through Temporal (polyfill) so DST gaps and overlaps resolve the RFC 5545 way.
 */

export function isTimeZone(zone: string): boolean {
  try {
    Temporal.Now.zonedDateTimeISO(zone);
    return true;
  } catch {
    return false;
  }
}

const zoned = (at: Date, zone: string) =>
  Temporal.Instant.fromEpochMilliseconds(at.getTime()).toZonedDateTimeISO(zone);

/** Start and end (exclusive) of the local calendar day containing `at` in `zone`. */
export function dayBounds(zone: string, at: Date): { start: Date; end: Date } {
  const start = zoned(at, zone).startOfDay();
  const end = start.add({ days: 1 }).startOfDay();
  return { start: new Date(start.epochMilliseconds), end: new Date(end.epochMilliseconds) };
}

/** Local ISO text with offset and zone, e.g. 2026-03-29T09:00:00+02:00[Europe/Berlin]. */
export const localText = (at: Date, zone: string) => zoned(at, zone).toString({ smallestUnit: 'second' });

export const MAX_RRULE_LENGTH = 500;
/** Sub-daily rules would flood reminders and occurrences; the smallest step is a day. */
const ALLOWED_FREQ = new Set(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);

function ruleOf(rrule: string, start: Date, zone: string): RRuleTemporal {
  const text = rrule.replace(/^RRULE:/i, '').trim();
  return new RRuleTemporal({ rruleString: text, dtstart: zoned(start, zone) });
}

/** Why an RRULE is not accepted, or null when it is. */
export function rruleProblem(rrule: string): string | null {
  if (rrule.length > MAX_RRULE_LENGTH) return `rrule is longer than ${MAX_RRULE_LENGTH} characters`;
  if (/DTSTART|TZID|\n/i.test(rrule))
    return 'rrule must not carry DTSTART or TZID: the due date and timezone are used';
  const freq = /FREQ=([A-Z]+)/i.exec(rrule)?.[1]?.toUpperCase();
  if (!freq || !ALLOWED_FREQ.has(freq)) return 'rrule FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY';
  try {
    ruleOf(rrule, new Date(), 'UTC').next(new Date());
    return null;
  } catch (error) {
    return `rrule is invalid: ${(error as Error).message}`.slice(0, 300);
  }
}

/**
 * The series' first occurrence after `after`: the rule is anchored at the series start
 * (DTSTART = first due time, as local wall time in `zone`), so 09:00 stays 09:00 across DST.
 */
export function nextOccurrence(rrule: string, zone: string, seriesStart: Date, after: Date): Date | null {
  const next = ruleOf(rrule, seriesStart, zone).next(after, false);
  return next ? new Date(next.epochMilliseconds) : null;
}

export interface ParsedDue {
  at: Date;
  /** The part of the input that was understood. */
  matched: string;
  /** What was understood, as local time in the zone. */
  interpreted: string;
}

/** Time of day used when the text names a day but no time ("tomorrow", "next friday"). */
export const DEFAULT_DUE_HOUR = 9;
export const MAX_DUE_TEXT = 200;

/**
 * Parses English due text ("tomorrow 9am", "next friday", "in 2 hours") in the user's zone.
 * Calendar phrases resolve as wall time in the zone on the target day (so a DST change in
 * between does not shift the hour); exact durations ("in 2 hours") are added to now.
 */
export function parseDue(text: string, zone: string, now = new Date()): ParsedDue | null {
  const offsetMinutes = zoned(now, zone).offsetNanoseconds / 60e9;
  const [result] = chrono.parse(text, { instant: now, timezone: offsetMinutes }, { forwardDate: true });
  if (!result) return null;
  const start = result.start;
  const tags = start.tags();
  let at: Date;
  if (tags.has('result/relativeDateAndTime')) {
    at = start.date();
  } else {
    const timeKnown = start.isCertain('hour');
    const local = Temporal.ZonedDateTime.from(
      {
        timeZone: zone,
        year: start.get('year') ?? 1970,
        month: start.get('month') ?? 1,
        day: start.get('day') ?? 1,
        hour: timeKnown ? (start.get('hour') ?? 0) : DEFAULT_DUE_HOUR,
        minute: timeKnown ? (start.get('minute') ?? 0) : 0,
        second: timeKnown ? (start.get('second') ?? 0) : 0,
      },
      { disambiguation: 'compatible' },
    );
    at = new Date(local.epochMilliseconds);
  }
  return { at, matched: result.text, interpreted: localText(at, zone) };
}
