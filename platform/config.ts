import { z } from 'zod';

/**
 * The only module that reads process.env. Each process declares the variables it
 * needs as a zod object built from the fragments below and calls loadConfig once in
 * its composition root.
 */

export const DEV_JWT_SECRET = 'parley-development-jwt-secret-not-for-production';
export const DEV_INTERNAL_SECRET = 'parley-development-internal-signing-secret';
export const DEV_S3_SECRET = 'parley-development-s3-secret';
/** Base64 Ed25519 seed for development only; production refuses it. */
export const DEV_AUDIT_SIGNING_KEY = 'cGFybGV5LWRldmVsb3BtZW50LWF1ZGl0LXNpZ25pbmc=';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const boolFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const baseEnv = {
  PARLEY_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url().optional()),
};

export const databaseEnv = {
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
};

export const kafkaEnv = {
  KAFKA_BROKERS: optionalString,
  KAFKA_CLIENT_ID: z.string().default('parley'),
  KAFKA_SSL: boolFlag,
  KAFKA_SSL_CA_FILE: optionalString,
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  KAFKA_CREATE_TOPICS: boolFlag,
};

export const s3Env = {
  S3_ENDPOINT: optionalString.pipe(z.url().optional()),
  S3_ACCESS_KEY: z.string().default('parley'),
  S3_SECRET_KEY: z.string().default(DEV_S3_SECRET),
  S3_BUCKET: z.string().min(3).default('parley'),
  S3_REGION: z.string().default('us-east-1'),
};

/** Sessions retention (issue #4): soft-deleted sessions are purged this long after deletion. */
export const sessionsEnv = {
  SESSION_DELETE_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30 * 24 * 60 * 60),
  SESSION_PURGE_INTERVAL_SECONDS: z.coerce.number().min(0.1).default(60),
};

/** Sessions storage: attachments, export/import and retention (docs/sessions-storage.md). */
const MIB = 1024 * 1024;
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const sessionsStorageEnv = {
  ATTACHMENT_MAX_BYTES: positiveInt(25 * MIB),
  ATTACHMENT_CONTENT_TYPES: z
    .string()
    .default(
      'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/markdown,text/csv,application/json',
    )
    .transform((v) =>
      v
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  ATTACHMENT_UPLOAD_URL_TTL_SECONDS: positiveInt(900),
  ATTACHMENT_PENDING_MAX_AGE_SECONDS: positiveInt(24 * 60 * 60),
  STORAGE_DOWNLOAD_URL_TTL_SECONDS: positiveInt(900),
  EXPORT_URL_TTL_SECONDS: positiveInt(3600),
  EXPORT_MAX_AGE_SECONDS: positiveInt(7 * 24 * 60 * 60),
  IMPORT_MAX_BYTES: positiveInt(20 * MIB),
  RETENTION_MAX_AGE_DAYS: positiveInt(90),
  RETENTION_BATCH_SIZE: positiveInt(1000),
  /** How often the sessions service runs retention and upload cleanup; 0 turns the timer off. */
  STORAGE_JOBS_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
};

export const internalAuthEnv = {
  INTERNAL_SIGNING_SECRET: z.string().min(32).default(DEV_INTERNAL_SECRET),
};

export const jwtEnv = {
  JWT_SECRET: z.string().min(32).default(DEV_JWT_SECRET),
  JWT_JWKS_URL: optionalString.pipe(z.url().optional()),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
};

export const portsEnv = {
  ROUTER_PORT: port(4000),
  SESSIONS_PORT: port(4001),
  TASKS_PORT: port(4002),
  AUDIT_PORT: port(4003),
  PROCESSORS_PORT: port(4010),
  HOST: z.string().default('127.0.0.1'),
};

export const routerHttpEnv = {
  /** Take the client IP from X-Forwarded-For: only behind a proxy that overwrites it. */
  TRUST_PROXY: boolFlag,
};

export const auditEnv = {
  /** Ed25519 private key for signed chain digests: PKCS#8 PEM, or the 32-byte seed in base64. */
  AUDIT_SIGNING_KEY: z.string().min(40).default(DEV_AUDIT_SIGNING_KEY),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(90),
  /** How often the processors sign a digest over the records appended since the last one. */
  AUDIT_DIGEST_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  /** How often the processors purge records past retention (legal holds exempt). */
  AUDIT_PURGE_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
};

export const subgraphUrlsEnv = {
  SESSIONS_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  TASKS_URL: z.url().default('http://127.0.0.1:4002/graphql'),
  AUDIT_URL: z.url().default('http://127.0.0.1:4003/graphql'),
};

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const DEV_SECRETS: Record<string, string> = {
  JWT_SECRET: DEV_JWT_SECRET,
  INTERNAL_SIGNING_SECRET: DEV_INTERNAL_SECRET,
  S3_SECRET_KEY: DEV_S3_SECRET,
  AUDIT_SIGNING_KEY: DEV_AUDIT_SIGNING_KEY,
};

/** Every invalid variable is reported at once; production refuses development secrets. */
export function loadConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  if (env.PARLEY_ENV === 'production') {
    for (const [name, devValue] of Object.entries(DEV_SECRETS)) {
      if (name in shape && (env[name] === undefined || env[name] === devValue)) {
        problems.push(
          `${name}: must be set to a real secret in production (the development default is refused)`,
        );
      }
    }
    if ('DATABASE_URL' in shape && !env.DATABASE_URL) problems.push('DATABASE_URL: required in production');
    if ('KAFKA_BROKERS' in shape && !env.KAFKA_BROKERS)
      problems.push('KAFKA_BROKERS: required in production');
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}
