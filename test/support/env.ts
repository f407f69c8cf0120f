import { join } from 'node:path';

/** Facts shared by the global set-up and the test files (passed through the environment). */
export const ROOT = join(import.meta.dirname, '..', '..');
export const RUN_DIR = join(ROOT, '.test-run');
export const ADMIN_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEMPLATE_DB = process.env.PARLEY_TEST_TEMPLATE_DB ?? 'parley_test_template';

export function databaseUrlFor(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
