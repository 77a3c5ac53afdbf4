/**
 * BENCH_ONLY=extract: main-content quality and speed on the annotated dev set (shared/datasets/
 * article-extraction-dev, 990 pages from trafilatura's evaluation), against @mozilla/readability on
 * linkedom in the same run. Scored as trafilatura scores it: whitespace-normalised `with` passages found
 * are true positives, missing ones false negatives, `without` passages found false positives.
 * A fifth of the pages (by a hash of the file name) is held out: tuning looks at the rest only.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, rootRequire } from './lib/root-deps.mjs';

const DATA_CANDIDATES = [
  process.env.BENCH_EXTRACT_DATA,
  path.resolve(repoRoot, '../shared/datasets/article-extraction-dev'),
  path.resolve(repoRoot, '../../shared/datasets/article-extraction-dev'),
].filter(Boolean);

/** The split every figure uses: held out when the first byte of sha256(file name) is a multiple of 5. */
export const isHeldOut = (file) => createHash('sha256').update(file).digest()[0] % 5 === 0;

/**
 * Whitespace runs collapse, invisible characters (soft hyphens, zero-width spaces) go, and canonically
 * equivalent characters compare equal (NFC): the annotators copied passages from rendered pages, some
 * keeping a page's soft hyphens (3 pages) and others not, some with a letter precomposed (Bengali য়) where
 * the page has it decomposed.
 */
export const norm = (s) => s.normalize('NFC').replace(/[\u00ad\u200b]/g, '').replace(/\s+/g, ' ').trim();

/** Counts for one page's output against its passages. */
export function scorePage(output, entry) {
  const o = norm(output);
  const c = { tp: 0, fn: 0, fp: 0, tn: 0 };
  for (const w of entry.with) c[o.includes(norm(w)) ? 'tp' : 'fn']++;
  for (const w of entry.without) c[o.includes(norm(w)) ? 'fp' : 'tn']++;
  return c;
}

export function f1Of(c) {
  const precision = c.tp / (c.tp + c.fp || 1);
  const recall = c.tp / (c.tp + c.fn || 1);
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

export function findData() {
  const dir = DATA_CANDIDATES.find((d) => fs.existsSync(path.join(d, 'evaldata.json')));
  if (!dir) throw new Error(`article-extraction-dev not found (set BENCH_EXTRACT_DATA); looked in ${DATA_CANDIDATES.join(', ')}`);
  return dir;
}

export function unpack(dataDir, outDir) {
  const pagesDir = path.join(outDir, 'extract-pages');
  if (!fs.existsSync(path.join(pagesDir, '.done'))) {
    fs.mkdirSync(pagesDir, { recursive: true });
    const r = spawnSync('tar', ['-xzf', path.join(dataDir, 'pages.tar.gz'), '-C', pagesDir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    fs.writeFileSync(path.join(pagesDir, '.done'), '');
  }
  return pagesDir;
}

/** Runs every extractor on every page; `limit` pages at most (BENCH_EXTRACT_PAGES) for a quick look. */
export async function extractBench({ distDir, outDir, limit = Infinity }) {
  const dataDir = findData();
  const pagesDir = unpack(dataDir, outDir);
  const evaldata = Object.values(JSON.parse(fs.readFileSync(path.join(dataDir, 'evaldata.json'), 'utf8'))).slice(0, limit);
  const { decodeHtml } = await import(pathToFileURL(path.join(distDir, 'scrape/decode.js')).href);
  const { extractMain, extractPage } = await import(pathToFileURL(path.join(distDir, 'scrape/html.js')).href);
  const { detectLanguage, primaryLanguage } = await import(pathToFileURL(path.join(distDir, 'scrape/language.js')).href);
  const { Readability } = rootRequire('@mozilla/readability');
  const { parseHTML } = rootRequire('linkedom');

  const extractors = {
    /** What the `main` format runs: one parse, then main content. */
    ours: (html, url) => extractMain(html, url),
    readability: (html) => {
      const { document } = parseHTML(html);
      return new Readability(document).parse()?.textContent ?? '';
    },
    /** Everything a text task gets from one parse: whole-page text, main, Markdown, metadata, images. */
    oursFull: (html, url) => extractPage(html, url).main,
  };
  const totals = Object.fromEntries(Object.keys(extractors).map((k) => [k, { ms: 0, all: zero(), dev: zero(), held: zero(), failures: 0 }]));
  let bytes = 0;
  // Language: the dev set has no labels, so the detector (on the main text) is compared with the pages'
  // own <html lang> where they declare one.
  const lang = { declared: 0, detected: 0, agree: 0, confusions: {} };
  // Warm-up: JIT and lazily loaded tables should not count against the first extractor.
  const first = evaldata[0];
  if (first) {
    const html = decodeHtml(fs.readFileSync(path.join(pagesDir, first.file)));
    for (const fn of Object.values(extractors)) fn(html, 'https://example.com/');
  }
  for (const entry of evaldata) {
    const body = fs.readFileSync(path.join(pagesDir, entry.file));
    bytes += body.length;
    const html = decodeHtml(body);
    const split = isHeldOut(entry.file) ? 'held' : 'dev';
    const declared = primaryLanguage(/<html\b[^>]*\blang\s*=\s*["']?([^"'\s>]+)/i.exec(html)?.[1]);
    if (declared) {
      lang.declared++;
      const detected = await detectLanguage(extractMain(html, ''));
      if (detected) {
        lang.detected++;
        if (detected === declared) lang.agree++;
        else lang.confusions[`${declared}→${detected}`] = (lang.confusions[`${declared}→${detected}`] ?? 0) + 1;
      }
    }
    for (const [name, fn] of Object.entries(extractors)) {
      const t = totals[name];
      const t0 = performance.now();
      let out = '';
      try {
        out = fn(html, 'https://example.com/');
      } catch {
        t.failures++;
      }
      t.ms += performance.now() - t0;
      const c = scorePage(out, entry);
      add(t.all, c);
      add(t[split], c);
    }
  }
  const result = { pages: evaldata.length, avgKiB: bytes / 1024 / Math.max(1, evaldata.length), heldOutPages: evaldata.filter((e) => isHeldOut(e.file)).length };
  for (const [name, t] of Object.entries(totals)) {
    result[name] = {
      all: f1Of(t.all), dev: f1Of(t.dev), held: f1Of(t.held),
      pagesPerSec: evaldata.length / (t.ms / 1000), failures: t.failures,
    };
  }
  result.speedup = result.ours.pagesPerSec / result.readability.pagesPerSec;
  result.language = { ...lang, confusions: Object.entries(lang.confusions).sort((a, b) => b[1] - a[1]).slice(0, 8) };
  const pct = (x) => x.toFixed(3);
  for (const name of Object.keys(extractors)) {
    const r = result[name];
    console.log(`  ${name.padEnd(12)} F1 ${pct(r.all.f1)} (P ${pct(r.all.precision)}, R ${pct(r.all.recall)}); tuning part ${pct(r.dev.f1)}, held out ${pct(r.held.f1)}; ${r.pagesPerSec.toFixed(1)} pages/s`);
  }
  return result;
}

const zero = () => ({ tp: 0, fn: 0, fp: 0, tn: 0 });
function add(a, b) {
  for (const k of Object.keys(a)) a[k] += b[k];
}

/** The RESULTS.md section. */
export function extractMarkdown(x) {
  if (!x) return '_not measured in this run (BENCH_ONLY=extract runs it)._';
  if (x.error) return `_failed: ${x.error}_`;
  const f = (v) => v.toFixed(3);
  const row = (name, r) => `| ${name} | **${f(r.all.f1)}** | ${f(r.all.precision)} | ${f(r.all.recall)} | ${f(r.dev.f1)} | ${f(r.held.f1)} | ${r.pagesPerSec.toFixed(1)} |`;
  return `Dev set: ${x.pages} annotated pages (avg ${x.avgKiB.toFixed(0)} KiB), ${x.heldOutPages} of them held out by a hash of the file name (never looked at while tuning). One core, pages decoded beforehand; time = parse + extraction. Output and passages are compared after NFC, collapsing whitespace and dropping invisible characters (soft hyphens), which some annotations keep and others not.

| extractor | F1 | precision | recall | F1, tuning part | F1, held out | pages/s |
|---|---|---|---|---|---|---|
${row('scrapeds `main` (htmlparser2 parse + src/scrape/main-content.ts)', x.ours)}
${row('@mozilla/readability on linkedom (same run)', x.readability)}
${row('scrapeds, everything a text task extracts (text, main, Markdown, metadata, language, images)', x.oursFull)}

Speed: **${x.speedup.toFixed(1)}×** Readability-on-linkedom's pages/s for the \`main\` format.

Language (eld on the main text) against the pages' own \`<html lang>\` (no labels in the set): ${languageLine(x.language)}

Published on this dev set (trafilatura docs/evaluation.rst): trafilatura 2.2 0.924 (P 0.906, R 0.943), jusText 0.862, readability-lxml 0.826, goose3 0.810, newspaper4k 0.801, full-text baseline 0.815.
Published on other article benchmarks (not this set; not comparable number for number): trafilatura 0.958, newspaper4k 0.949, Readability.js 0.947, jusText 0.80.`;
}

function languageLine(l) {
  if (!l) return 'not measured.';
  const pct = (a, b) => `${((100 * a) / Math.max(1, b)).toFixed(1)} %`;
  return `${l.declared} pages declare one; the detector answered on ${l.detected} (${pct(l.detected, l.declared)}) and agreed on ${l.agree} of those (**${pct(l.agree, l.detected)}**). Disagreements (declared→detected): ${l.confusions.map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}.`;
}
