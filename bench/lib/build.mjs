/**
 * Builds the service from the working tree into a private directory (not dist/, which tests and other
 * people use), beside a node_modules link to the repo's so it runs with the service's own dependencies.
 * BENCH_DIST=path uses an existing build instead (e.g. BENCH_DIST=dist after `npm run build`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './root-deps.mjs';

export function buildService() {
  if (process.env.BENCH_DIST) return { distDir: path.resolve(repoRoot, process.env.BENCH_DIST), cleanup: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrapeds-bench-build-'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const distDir = path.join(dir, 'dist');
  const tsc = path.join(repoRoot, 'node_modules/.bin/tsc');
  const r = spawnSync(tsc, ['-p', 'tsconfig.build.json', '--outDir', distDir], { cwd: repoRoot, encoding: 'utf8' });
  if (!fs.existsSync(path.join(distDir, 'main.js'))) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  // The rest of `npm run build`: the language tables as JSON (scripts/eld-tables.mjs).
  const tables = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/eld-tables.mjs'), path.join(distDir, 'scrape/eld-medium.json')], { cwd: repoRoot, encoding: 'utf8' });
  if (tables.status !== 0) throw new Error(`writing the language tables failed:\n${tables.stderr}`);
  // tsc still emits on type errors (someone's work in progress): measure it, but say so.
  if (r.status !== 0) console.log(`bench: tsc reported errors, measuring what it emitted:\n${r.stdout.split('\n').slice(0, 5).join('\n')}`);
  return { distDir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
