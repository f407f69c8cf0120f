import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm test`: Jest on Node 24 with ES modules, then one closing line with the real
 * counts, `N passed, N failed`. Extra arguments go to Jest (e.g. a path filter).
 */
const root = join(import.meta.dirname, '..');
const report = join(root, '.test-run-report.json');
rmSync(report, { force: true });
const started = Date.now();
const result = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings',
    join(root, 'node_modules/jest/bin/jest.js'),
    '--json',
    `--outputFile=${report}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: root, env: process.env },
);
let passed = 0;
let failed = 0;
try {
  const summary = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numRuntimeErrorTestSuites: number;
  };
  passed = summary.numPassedTests;
  // A file that could not run at all counts as a failure, never as nothing.
  failed = summary.numFailedTests + summary.numRuntimeErrorTestSuites;
} catch {
  failed = Math.max(1, failed);
}
rmSync(report, { force: true });
process.stdout.write(`\ntest suite took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(result.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
