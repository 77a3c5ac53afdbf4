/**
 * Issue 10's crawl figure: a 5,000-page fixture site crawled from `/` by this service (`POST /batches` with
 * `crawl`, text tasks, polled through `GET /batches/:id`) and by Crawlee's CheerioCrawler with enqueueLinks
 * (same-hostname), at the same concurrency, interleaved, in the same run. In bench/run.mjs as BENCH_ONLY=crawl;
 * `node bench/crawl.mjs` runs only this section and rewrites only its part of RESULTS.md.
 * Sizes: BENCH_CRAWL_PAGES, BENCH_CRAWL_LINKS, BENCH_CRAWL_REPEAT, BENCH_CONCURRENCY, BENCH_PAGE_BYTES.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnFixtureSite } from './fixture-site.mjs';
import { medianOf, runPeerScript } from './jobs.mjs';
import { sleep } from './lib/proc.mjs';
import { rootRequire } from './lib/root-deps.mjs';
import { measureService, pollDelayMs, startStandalone } from './runners/service.mjs';

const { request } = rootRequire('undici');
const env = process.env;
const num = (name, dflt) => (env[name] ? Number(env[name]) : dflt);
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const mib = (b) => (Number.isFinite(b) ? (b / 2 ** 20).toFixed(0) : '–');

export const crawlParams = () => ({
  pages: num('BENCH_CRAWL_PAGES', 5000),
  linksPerPage: num('BENCH_CRAWL_LINKS', 4),
  repeat: num('BENCH_CRAWL_REPEAT', num('BENCH_REPEAT', 3)),
  concurrency: num('BENCH_CONCURRENCY', 4),
  pageBytes: num('BENCH_PAGE_BYTES', 16_384),
});

async function getJson(url, init = {}) {
  const res = await request(url, { ...init, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** What the site served since the last call (and zero it): every runner is checked against the same counter. */
const siteStats = (site) => getJson(`${site.base}/__stats?reset=1`);

/** This service, standalone: one crawl batch of text tasks, polled until the batch is finished. */
async function serviceCrawl({ distDir, site, p, dir }) {
  const svc = await startStandalone({ distDir, dataDir: path.join(dir, 'data'), logDir: dir, env: { PER_HOST_CONCURRENCY: String(p.concurrency), LOG_LEVEL: 'warn' } });
  try {
    return await measureService(svc, async () => {
      const t0 = performance.now();
      const startedAtMs = Date.now();
      const batch = await getJson(`${svc.url}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // Crawlee's request keys drop utm_* parameters (and #fragments): the service is asked to do the same.
        body: JSON.stringify({ crawl: { url: `${site.base}/`, max_pages: p.pages, strip_tracking_params: true }, kinds: ['text'] }),
      });
      let b = batch;
      const deadline = Date.now() + 900_000;
      while (!b.finished_at && b.status === 'running') {
        if (Date.now() > deadline) throw new Error(`crawl batch ${batch.id} not finished after 900 s: ${JSON.stringify(b.counts)}`);
        // As the jobs section polls; the time is the batch's own (its last task's finish), not the poll's.
        await sleep(pollDelayMs(performance.now() - t0));
        b = await getJson(`${svc.url}/batches/${batch.id}`);
      }
      const seconds = b.finished_at ? (Date.parse(b.finished_at) - startedAtMs) / 1000 : (performance.now() - t0) / 1000;
      return { seconds, pages: b.counts.succeeded, failed: b.counts.failed, status: b.status, tasks: b.task_count };
    });
  } finally {
    await svc.stop();
  }
}

async function crawleeCrawl({ site, p, dir }) {
  const arg = { start: `${site.base}/`, maxPages: p.pages, concurrency: p.concurrency, outDir: path.join(dir, 'text') };
  return runPeerScript('crawlee-crawl.mjs', arg, dir);
}

export async function crawlBench({ distDir, outDir, log = console.log }) {
  const p = crawlParams();
  const site = await spawnFixtureSite({ pages: p.pages, imagesPerPage: 0, pageBytes: p.pageBytes, linksPerPage: p.linksPerPage });
  const runs = { service: [], crawlee: [] };
  try {
    // Interleaved repeats, so a noisy minute on a shared machine hurts both alike.
    for (let i = 1; i <= p.repeat; i++) {
      for (const name of Object.keys(runs)) {
        const dir = path.join(outDir, 'crawl', `${name}-${i}`);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        log(`crawl: ${name} #${i}`);
        await siteStats(site);
        try {
          const r = await (name === 'service' ? serviceCrawl({ distDir, site, p, dir }) : crawleeCrawl({ site, p, dir }));
          runs[name].push({ ...r, site: await siteStats(site) });
        } catch (err) {
          runs[name].push({ error: String(err?.message ?? err).split('\n')[0] });
        }
      }
    }
  } finally {
    site.stop();
  }
  const r = { params: p };
  for (const [name, rs] of Object.entries(runs)) {
    const good = rs.filter((x) => !x.error);
    r[name] = good.length ? { ...(await medianOf(good.length, (i) => good[i])), failedRuns: rs.filter((x) => x.error).map((x) => x.error) } : rs[0];
  }
  return r;
}

export function crawlMarkdown(c) {
  if (!c) return '_not measured in this run (BENCH_ONLY=crawl, or `node bench/crawl.mjs`)._';
  if (c.error) return `Failed: ${c.error}`;
  const p = c.params;
  const rate = (r) => (r && !r.error ? r.pages / r.seconds : NaN);
  const row = (name, r) =>
    r?.error
      ? `| ${name} | failed: ${r.error} | | | | | |`
      : `| ${name} | **${f1(rate(r))}** | ${f2(r.seconds)} (${r.runs.map(f2).join(', ')}${r.failedRuns?.length ? `; ${r.failedRuns.length} run(s) failed: ${r.failedRuns[0]}` : ''}) | ${f2(r.cpuSeconds)} | ${f2((1000 * r.cpuSeconds) / r.pages)} | ${mib(r.peakRss)} | ${r.pages}${r.failed ? ` (+${r.failed} failed)` : ''} | ${r.site.distinctPages} / ${r.site.pageRequests} |`;
  return [
    `${p.pages} pages of ~${Math.round(p.pageBytes / 1024)} KiB (fixture site in its own process, 127.0.0.1), each linking to ${p.linksPerPage} children in a tree from \`/\`, one page elsewhere, and noise (a duplicate link, a \`#fragment\`, \`utm_*\` parameters, home). Both crawl from \`/\` with max ${p.pages} pages and ${p.concurrency} requests in flight (the service's PER_HOST_CONCURRENCY; Crawlee min = maxConcurrency), text of every page stored; ${p.repeat} interleaved repeats, the median wall time shown (all in brackets). The service: standalone, \`POST /batches {"crawl": {"url", "max_pages", "strip_tracking_params": true}, "kinds": ["text"]}\` (Crawlee's request keys drop \`utm_*\` parameters by default), timed from the POST to the \`GET /batches/:id\` that shows it finished. Crawlee: CheerioCrawler, \`enqueueLinks({strategy: 'same-hostname'})\`, text to files. CPU (utime + stime) and peak RSS from /proc, runner processes only.`,
    '',
    '| crawler | pages/s | wall s (runs) | CPU s | CPU ms per page | peak RSS MiB | pages stored | site: distinct pages / page requests served |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    row('this service (crawl batch)', c.service),
    row('Crawlee CheerioCrawler + enqueueLinks', c.crawlee),
    '',
    `Ratio: **${f2(rate(c.service) / rate(c.crawlee))}×** Crawlee's pages/s; CPU per page ${f2(c.service?.cpuSeconds / c.service?.pages / (c.crawlee?.cpuSeconds / c.crawlee?.pages))}× Crawlee's.`,
  ].join('\n');
}

export const CRAWL_HEADING = '## Crawl (issue 10): 5,000-page fixture site vs Crawlee';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { runSectionAlone } = await import('./lib/section-alone.mjs');
  await runSectionAlone({ name: 'crawl', heading: CRAWL_HEADING, measure: crawlBench, markdown: crawlMarkdown });
}
