/** jest's globalSetup rebuilds dist/ when the sources changed after it: the e2e suites must not test an old build. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error: a plain ES module (jest's globalSetup), without type declarations
import { buildIsStale as isStale } from '../global-setup.mjs';

const buildIsStale = isStale as (repo: string) => boolean;

describe('buildIsStale', () => {
  let repo: string;
  const write = (rel: string, ageSeconds: number) => {
    const file = path.join(repo, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    const at = Date.now() / 1000 - ageSeconds;
    fs.utimesSync(file, at, at);
  };

  beforeEach(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'build-freshness-'));
    write('tsconfig.json', 100);
    write('src/main.ts', 60);
    write('src/models/task.ts', 60);
  });
  afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

  it('is stale without a build', () => {
    expect(buildIsStale(repo)).toBe(true);
  });

  it('is fresh when the build is newer than every source and setting', () => {
    write('dist/main.js', 10);
    write('dist/models/task.js', 10);
    expect(buildIsStale(repo)).toBe(false);
  });

  it('is stale when a source file in a subdirectory changed after the build', () => {
    write('dist/main.js', 10);
    write('src/models/task.ts', 1);
    expect(buildIsStale(repo)).toBe(true);
  });

  it('is stale when the compiler settings changed after the build', () => {
    write('dist/main.js', 10);
    write('tsconfig.json', 1);
    expect(buildIsStale(repo)).toBe(true);
  });

  it('judges the build by its JavaScript, not by other files written into dist/', () => {
    write('dist/main.js', 50);
    expect(buildIsStale(repo)).toBe(false);
    write('src/main.ts', 20);
    write('dist/scrape/eld-medium.json', 1);
    expect(buildIsStale(repo)).toBe(true);
  });
});
