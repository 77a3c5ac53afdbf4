/**
 * The service's own dependencies (undici, cheerio, express, …), loaded from the repo root's node_modules.
 * bench/node_modules holds the peers' dependencies, among them an older cheerio that a bare import from
 * bench/ would pick up instead.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const rootRequire = createRequire(path.join(repoRoot, 'package.json'));
export const benchRequire = createRequire(path.join(repoRoot, 'bench/package.json'));
export const versionOf = (req, name) => {
  try {
    return req(`${name}/package.json`).version;
  } catch {
    return 'not installed';
  }
};
