import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  auditEnv,
  DEV_INTERNAL_SECRET,
  internalAuthEnv,
  jwtEnv,
  kafkaEnv,
  baseEnv,
  databaseEnv,
  portsEnv,
  loadConfig,
} from './config.ts';

const shape = { ...baseEnv, ...databaseEnv, ...kafkaEnv, ...jwtEnv, ...internalAuthEnv, ...portsEnv };
const strong = 'x'.repeat(40);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(shape, env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}

describe('process configuration', () => {
  it('fills development defaults when nothing is set', () => {
    const config = loadConfig(shape, {});
    expect(config.ROUTER_PORT).toBe(4000);
    expect(config.PARLEY_ENV).toBe('development');
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('reports every invalid variable at once, by name', () => {
    const problems = problemsOf({ ROUTER_PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['ROUTER_PORT', 'LOG_LEVEL', 'DATABASE_URL']),
    );
    expect(problems).toHaveLength(3);
  });

  it('refuses development secrets and missing infrastructure in production', () => {
    const problems = problemsOf({ PARLEY_ENV: 'production', INTERNAL_SIGNING_SECRET: DEV_INTERNAL_SECRET });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'INTERNAL_SIGNING_SECRET',
      'JWT_SECRET',
      'KAFKA_BROKERS',
    ]);
  });

  it('refuses the development audit signing key in production and accepts a real one', () => {
    const production = {
      PARLEY_ENV: 'production',
      DATABASE_URL: 'postgres://db.example/parley',
      KAFKA_BROKERS: 'k1:9092',
    };
    expect(() => loadConfig({ ...baseEnv, ...databaseEnv, ...kafkaEnv, ...auditEnv }, production)).toThrow(
      /AUDIT_SIGNING_KEY: must be set to a real secret in production/,
    );
    const config = loadConfig(
      { ...baseEnv, ...databaseEnv, ...kafkaEnv, ...auditEnv },
      {
        ...production,
        AUDIT_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
        AUDIT_RETENTION_DAYS: '365',
      },
    );
    expect(config.AUDIT_RETENTION_DAYS).toBe(365);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig(shape, {
      PARLEY_ENV: 'production',
      DATABASE_URL: 'postgres://db.example/parley',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      JWT_SECRET: strong,
      INTERNAL_SIGNING_SECRET: strong,
    });
    expect(config.KAFKA_BROKERS).toBe('k1:9092,k2:9092');
  });

  it('rejects secrets too short to be safe', () => {
    expect(problemsOf({ JWT_SECRET: 'short' })).toEqual([expect.stringContaining('JWT_SECRET')]);
  });
});
