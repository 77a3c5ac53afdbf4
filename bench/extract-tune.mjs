/**
 * The tuning loop for main-content extraction: scores `extractMain` on the TUNING part of the dev set only
 * (never the held-out fifth; bench/extract.mjs has the split and the scorer) and lists the worst pages.
 *   node bench/extract-tune.mjs [--dist DIR] [--worst N] [--dump DIR] [--page FILE]
 * --dist: a build of src (default: builds one, as the bench does); --dump: writes each page's output and
 * its missed / wrongly kept passages there; --page: one page's output and passages on stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildService } from './lib/build.mjs';
import { f1Of, findData, isHeldOut, norm, scorePage, unpack } from './extract.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const build = opt('dist') ? { distDir: path.resolve(opt('dist')), cleanup: () => {} } : buildService();
const dataDir = findData();
const pagesDir = unpack(dataDir, path.join(import.meta.dirname, 'out'));
const { decodeHtml } = await import(pathToFileURL(path.join(build.distDir, 'scrape/decode.js')).href);
const { extractMain } = await import(pathToFileURL(path.join(build.distDir, 'scrape/html.js')).href);

const entries = Object.entries(JSON.parse(fs.readFileSync(path.join(dataDir, 'evaldata.json'), 'utf8')))
  .map(([url, e]) => ({ url, ...e }))
  .filter((e) => !isHeldOut(e.file) && (!opt('page') || e.file === opt('page')));
const total = { tp: 0, fn: 0, fp: 0, tn: 0 };
const pages = [];
const t0 = performance.now();
for (const e of entries) {
  const out = extractMain(decodeHtml(fs.readFileSync(path.join(pagesDir, e.file))), e.url);
  const c = scorePage(out, e);
  for (const k of Object.keys(total)) total[k] += c[k];
  const o = norm(out);
  const missed = e.with.filter((w) => !o.includes(norm(w)));
  const kept = e.without.filter((w) => o.includes(norm(w)));
  pages.push({ file: e.file, url: e.url, c, missed, kept, out });
  if (opt('page')) console.log(`${out}\n\n--- missed:\n${missed.join('\n')}\n--- kept boilerplate:\n${kept.join('\n')}`);
}
const ms = performance.now() - t0;
const r = f1Of(total);
console.log(`tuning part: ${entries.length} pages, F1 ${r.f1.toFixed(4)} (P ${r.precision.toFixed(4)}, R ${r.recall.toFixed(4)}) tp ${total.tp} fp ${total.fp} fn ${total.fn}; ${(entries.length / (ms / 1000)).toFixed(1)} pages/s`);
const lost = (p) => p.c.fp + p.c.fn;
const worst = pages.filter((p) => lost(p) > 0).sort((a, b) => lost(b) - lost(a)).slice(0, Number(opt('worst') ?? 25));
for (const p of worst) console.log(`  fp ${p.c.fp} fn ${p.c.fn}  ${p.file}  ${p.url}`);
const dump = opt('dump');
if (dump) {
  fs.mkdirSync(dump, { recursive: true });
  for (const p of pages) {
    if (lost(p) === 0) continue;
    fs.writeFileSync(path.join(dump, `${p.file}.txt`), `${p.url}\n--- missed:\n${p.missed.join('\n')}\n--- kept boilerplate:\n${p.kept.join('\n')}\n--- output:\n${p.out}\n`);
  }
}
build.cleanup();
