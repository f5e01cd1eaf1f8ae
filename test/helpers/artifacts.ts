// Where a test keeps what a person looks at after the run (a browser test's screenshots): a
// directory of the run's own under $TROVE_TEST_ARTIFACTS (by default
// <tmpdir>/trove-ts-test-artifacts), kept after the test ends.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testSetting } from './settings.js';

export function artifactsBase(): string {
  return path.resolve(testSetting('TROVE_TEST_ARTIFACTS', path.join(tmpdir(), 'trove-ts-test-artifacts')));
}

/** A new directory `<base>/<name>-<date and time>-<random>/` for one run of a test file. */
export function artifactsDir(name: string): string {
  const base = artifactsBase();
  mkdirSync(base, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return mkdtempSync(path.join(base, `${name}-${stamp}-`));
}
