/**
 * Field names whose values never reach the audit trail: matched case-insensitively at any
 * depth of an event's data and changes. The audit record keeps the key (so the change is
 * visible) with the value replaced.
 */
export const redactedFieldNames = [
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'cookie',
  'signingKey',
] as const;

export const REDACTED = '[redacted]';
const redacted = new Set(redactedFieldNames.map((name) => name.toLowerCase()));

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, v]) => [
      key,
      redacted.has(key.toLowerCase()) ? REDACTED : redact(v),
    ]),
  );
}
