/** Runs one bench section on its own (`node bench/<section>.mjs`): build, measure, keep its JSON, rewrite only its part of RESULTS.md. */
import fs from 'node:fs';
import path from 'node:path';
import { buildService } from './build.mjs';

const benchDir = path.resolve(import.meta.dirname, '..');

/** Replaces one section of RESULTS.md (or appends it), leaving the others as they are. */
export function spliceSection(file, markdown, heading) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const section = `${heading}\n${markdown}\n`;
  const at = text.indexOf(heading);
  if (at === -1) return fs.writeFileSync(file, `${text.trimEnd()}\n\n${section}`);
  const next = text.indexOf('\n## ', at + heading.length);
  fs.writeFileSync(file, `${text.slice(0, at)}${section}${next === -1 ? '' : text.slice(next + 1)}`);
}

/**
 * `measure({distDir, outDir})` → results (saved as out/`name`.json); `markdown(results)` → the section body;
 * `what` follows the "Measured by … on <date>" line's command.
 */
export async function runSectionAlone({ name, heading, measure, markdown, what = '' }) {
  const build = buildService();
  const outDir = path.join(benchDir, 'out');
  try {
    const r = await measure({ distDir: build.distDir, outDir });
    r.when = new Date().toISOString();
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(r, null, 2));
    spliceSection(path.join(benchDir, 'RESULTS.md'), `Measured by \`node bench/${name}.mjs\` on ${r.when}${what}.\n\n${markdown(r)}`, heading);
    console.log(markdown(r));
  } finally {
    build.cleanup();
  }
}
