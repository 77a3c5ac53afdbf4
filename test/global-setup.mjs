/**
 * jest's globalSetup: builds dist/ once, before any suite, when it is missing or older than the sources. The
 * e2e suites spawn dist/main.js, so a build left from before an edit would test the old code (./test.sh
 * builds first, so there this finds nothing to do; a developer running `npm test -- test/e2e/…` gets it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** The newest modification time (ms) of the files under `dir` whose names pass `keep`; 0 when there are none. */
export function newestMtime(dir, keep = () => true) {
  if (!fs.existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !keep(entry.name)) continue;
    newest = Math.max(newest, fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

/** Is the build older than what it is built from (the sources, the compiler settings, the build script)? */
export function buildIsStale(repo = root) {
  const built = newestMtime(path.join(repo, 'dist'), (name) => name.endsWith('.js'));
  if (built === 0) return true;
  const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/eld-tables.mjs']
    .map((f) => path.join(repo, f))
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.statSync(f).mtimeMs);
  return Math.max(newestMtime(path.join(repo, 'src')), ...inputs) > built;
}

export default function globalSetup() {
  if (buildIsStale()) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
