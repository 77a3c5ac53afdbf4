#!/usr/bin/env node
// The `scrapeds` command (package.json "bin"): runs the compiled CLI, building dist/ first in a fresh checkout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'dist/cli/main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('scrapeds: building dist/ (npm run build) once…\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}
await import(main);
