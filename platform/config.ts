import { z } from 'zod';

/**
 * The only module that reads process.env. Each process declares the variables it
 * needs as a zod object built from the fragments below and calls loadConfig once in
 * its composition root.
 */

export const DEV_JWT_SECRET = 'parley-development-jwt-secret-not-for-production';
export const DEV_INTERNAL_SECRET = 'parley-development-internal-signing-secret';
export const DEV_S3_SECRET = 'parley-development-s3-secret';

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
