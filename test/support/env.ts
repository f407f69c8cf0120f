import { join } from 'node:path';

/** Facts shared by the global set-up and the test files (passed through the environment). */
export const ROOT = join(import.meta.dirname, '..', '..');
export const RUN_DIR = join(ROOT, '.test-run');
export const ADMIN_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * Databases of one run share a prefix carrying the run's start time, so concurrent
 * runs never drop each other's databases and leftovers of killed runs can be aged out.
 */
export const RUN_PREFIX =
  (process.env.PARLEY_TEST_RUN_PREFIX ??= `parley_test_${Math.floor(Date.now() / 1000)}_`);
export const TEMPLATE_DB = `${RUN_PREFIX}template`;
export const STALE_AFTER_SECONDS = 6 * 60 * 60;

export function databaseUrlFor(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
