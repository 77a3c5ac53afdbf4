/**
 * Issue 10 figures: submitting 100,000 URLs as NDJSON (seconds, RSS), streaming 1,000,000 result records
 * (RSS), exporting WebDataset shards vs `tar -c` of the same stored files on the same disk.
 * In bench/run.mjs as BENCH_ONLY=datasets; `node bench/datasets.mjs` runs only this section and rewrites
 * only its part of RESULTS.md. Sizes: BENCH_SUBMIT_URLS, BENCH_RESULT_RECORDS, BENCH_EXPORT_IMAGES, BENCH_EXPORT_IMAGE_BYTES,
 * BENCH_EXPORT_REPEATS; BENCH_DATASETS_PARTS=export (a comma list of submit, results, export) runs only those;
 * BENCH_EXPORT_CPU_PROF=DIR writes the exporting service's CPU profile there.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { peakRss } from './lib/proc.mjs';
import { rootRequire } from './lib/root-deps.mjs';
import { startStandalone } from './runners/service.mjs';

const { request } = rootRequire('undici');
const Database = rootRequire('better-sqlite3');
const env = process.env;
const num = (name, dflt) => (env[name] ? Number(env[name]) : dflt);
const mib = (b) => (b / 2 ** 20).toFixed(0);
const f1 = (x) => (typeof x === 'number' ? x.toFixed(1) : '–');
const f2 = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');

/** CPU seconds (user + system, all threads) of a process, or of the reaped children of this one. */
const CLOCK_TICK = 100;
const statFields = (pid) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').map(Number);
const cpuOf = (pid) => { const f = statFields(pid); return (f[11] + f[12]) / CLOCK_TICK; };
const childrenCpu = () => { const f = statFields('self'); return (f[13] + f[14]) / CLOCK_TICK; };

const currentRss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

async function api(url, method, pathname, body, headers = {}) {
  const res = await request(`${url}${pathname}`, { method, body, headers: body && !headers['content-type'] ? { 'content-type': 'application/json' } : headers, headersTimeout: 600_000, bodyTimeout: 600_000 });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${pathname}: ${res.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** POST n URLs as a streamed NDJSON body; the URLs point at a closed port, and the batch is cancelled at once. */
async function submit({ distDir, outDir, n }) {
  const dataDir = path.join(outDir, 'submit', 'data');
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  const svc = await startStandalone({ distDir, dataDir, logDir: outDir, logName: 'datasets-submit.log', env: { LOG_LEVEL: 'warn', QUEUE_CAPACITY: String(n * 2), WORKER_CONCURRENCY: '1', PARSE_THREADS: '0' } });
  const pid = svc.procs[0].pid;
  try {
    const idleRss = currentRss(pid);
    async function* body() {
      const lines = [];
      for (let i = 0; i < n; i++) {
        lines.push(`{"url":"http://127.0.0.1:9/page/${i}?q=${i % 97}"}\n`);
        if (lines.length === 1000) yield lines.splice(0).join('');
      }
      if (lines.length) yield lines.join('');
    }
    const t0 = performance.now();
    const batch = await api(svc.url, 'POST', '/batches?kinds=text', Readable.from(body()), { 'content-type': 'application/x-ndjson' });
    const seconds = (performance.now() - t0) / 1000;
    const peak = peakRss(pid);
    // Cancels what the worker has not reached yet (a 409 when it already got through them all).
    await api(svc.url, 'DELETE', `/batches/${batch.id}`).catch(() => undefined);
    return { urls: batch.url_count, seconds, urlsPerSecond: batch.url_count / seconds, idleRss, peakRss: peak };
  } finally {
    await svc.stop();
  }
}

/** Opens the built store on a data dir, for writing fixtures the fast way. */
async function openStore(distDir, dataDir) {
  const { openSqliteTaskStore } = await import(pathToFileURL(path.join(distDir, 'models/sqlite/sqlite-task-store.js')).href);
  fs.mkdirSync(dataDir, { recursive: true });
  return openSqliteTaskStore(path.join(dataDir, 'tasks.sqlite'));
}

/** n finished text tasks in one batch, written straight into SQLite, then streamed through GET /results. */
async function results({ distDir, outDir, n }) {
  const dataDir = path.join(outDir, 'results', 'data');
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  const store = await openStore(distDir, dataDir);
  const urls = Array.from({ length: n }, (_, i) => `https://example.com/article/${i}`);
  const { batch } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls });
  await store.close();
  const db = new Database(path.join(dataDir, 'tasks.sqlite'));
  db.transaction(() => {
    db.prepare(`UPDATE tasks SET status = 'succeeded', attempts = 1, started_at = created_at, finished_at = created_at,
      page = json_object('finalUrl', url, 'httpStatus', 200, 'title', 'An article', 'bytes', 20000, 'textLength', 600) WHERE batch_id = ?`).run(batch.id);
    db.prepare(`INSERT INTO task_texts (task_id, text) SELECT id, 'An article\n\n' || printf('%.600c', 'x') FROM tasks WHERE batch_id = ?`).run(batch.id);
  })();
  db.close();

  const svc = await startStandalone({ distDir, dataDir, logDir: outDir, logName: 'datasets-results.log', env: { LOG_LEVEL: 'warn', PARSE_THREADS: '0' } });
  const pid = svc.procs[0].pid;
  try {
    const idleRss = currentRss(pid);
    let maxRss = idleRss;
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, currentRss(pid))), 500);
    const t0 = performance.now();
    const res = await request(`${svc.url}/batches/${batch.id}/results`, { bodyTimeout: 600_000 });
    let lines = 0;
    let bytes = 0;
    for await (const chunk of res.body) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    return { records: lines, bytes, seconds, recordsPerSecond: lines / seconds, idleRss, peakRss: peakRss(pid), maxSampledRss: maxRss };
  } finally {
    await svc.stop();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * n stored images (random bytes, `size` each) in images tasks of 10 each; then `repeats` rounds of: export
 * them as WebDataset, and `tar -cf` the same stored files to the same disk (the order alternates between
 * rounds, so neither always goes first). Medians of each. Both read the files from a warm page cache: they
 * were just written (as right after a scrape) and the machine has the memory to keep them.
 * An export's time is the service's own (finished_at − created_at, written when its last shard is stored),
 * so the poll interval does not count; the client's time from POST to the poll that sees it done (polled
 * every 50 ms, not faster: each poll costs the service CPU) is reported beside it.
 */
async function exportVsTar({ distDir, outDir, n, size, repeats }) {
  const dataDir = path.join(outDir, 'export', 'data');
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  const store = await openStore(distDir, dataDir);
  const { VolumeBlobStore } = await import(pathToFileURL(path.join(distDir, 'storage/volume-blob-store.js')).href);
  const mediaDir = path.join(dataDir, 'media');
  const blobs = new VolumeBlobStore(mediaDir, '/media');
  const perPage = 10;
  const pages = Math.ceil(n / perPage);
  const { jobs } = await store.batches.createBatch({ kinds: ['images'], refresh: false, urls: Array.from({ length: pages }, (_, i) => `https://example.com/gallery/${i}`) });
  let made = 0;
  for (const job of jobs) {
    await store.startTask(job.taskId);
    for (let p = 0; p < perPage && made < n; p++, made++) {
      const bytes = randomBytes(size);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = `images/${sha256.slice(0, 2)}/${sha256}.png`;
      await blobs.put(key, bytes);
      const sourceUrl = `https://example.com/img/${made}.png`;
      const claim = await store.claimImage(sourceUrl, { taskId: job.taskId, staleAfterMs: 60_000 });
      await store.completeImage(claim.image.id, job.taskId, { status: 'stored', file: { sha256, key, mime: 'image/png', bytes: size, width: 64, height: 64 } });
      await store.linkImage({ taskId: job.taskId, position: p, sourceUrl, imageId: claim.image.id, outcome: 'stored' });
    }
    await store.finishTask(job.taskId, { status: 'succeeded', page: { finalUrl: 'https://example.com/', httpStatus: 200, bytes: 1000 } });
  }
  const batchId = (await store.batches.listBatches({ limit: 1 })).items[0].id;
  await store.close();

  const profDir = env.BENCH_EXPORT_CPU_PROF ? path.resolve(env.BENCH_EXPORT_CPU_PROF) : undefined;
  const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const svc = await startStandalone({ distDir, dataDir, logDir: outDir, logName: 'datasets-export.log', nodeArgs, env: { LOG_LEVEL: 'warn', PARSE_THREADS: '0' } });
  const exportOnce = async () => {
    const cpu0 = cpuOf(svc.procs[0].pid);
    const t0 = performance.now();
    const exp = await api(svc.url, 'POST', `/batches/${batchId}/exports`, JSON.stringify({ format: 'webdataset', shard_samples: 1000 }));
    let done;
    for (;;) {
      done = await api(svc.url, 'GET', `/exports/${exp.id}`);
      if (done.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const clientSeconds = (performance.now() - t0) / 1000;
    const cpu = cpuOf(svc.procs[0].pid) - cpu0;
    if (done.status !== 'succeeded') throw new Error(`export failed: ${JSON.stringify(done.error)}`);
    fs.rmSync(path.join(mediaDir, 'exports', exp.id), { recursive: true, force: true });
    const seconds = (Date.parse(done.finished_at) - Date.parse(done.created_at)) / 1000;
    return { seconds, clientSeconds, cpu, bytes: done.shards.reduce((a, s) => a + s.bytes, 0), shards: done.shards.length };
  };
  const tarOnce = () => {
    const tarFile = path.join(mediaDir, 'baseline.tar');
    const cpu0 = childrenCpu();
    const t1 = performance.now();
    const tar = spawnSync('tar', ['-cf', tarFile, '-C', mediaDir, 'images']);
    const seconds = (performance.now() - t1) / 1000;
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const cpu = childrenCpu() - cpu0;
    const bytes = fs.statSync(tarFile).size;
    fs.rmSync(tarFile);
    return { seconds, cpu, bytes };
  };
  try {
    const exports = [];
    const tars = [];
    for (let i = 0; i < repeats; i++) {
      if (i % 2 === 0) {
        exports.push(await exportOnce());
        tars.push(tarOnce());
      } else {
        tars.push(tarOnce());
        exports.push(await exportOnce());
      }
    }
    const exportSeconds = median(exports.map((e) => e.seconds));
    const tarSeconds = median(tars.map((t) => t.seconds));
    const shardBytes = exports[0].bytes;
    const tarBytes = tars[0].bytes;
    return {
      images: n, imageBytes: size, repeats, shards: exports[0].shards, shardBytes, exportSeconds, exportMBps: shardBytes / 2 ** 20 / exportSeconds,
      exportClientSeconds: median(exports.map((e) => e.clientSeconds)), exportRuns: exports.map((e) => e.seconds),
      exportCpu: median(exports.map((e) => e.cpu)), tarCpu: median(tars.map((t) => t.cpu)), loadAverage: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      tarBytes, tarSeconds, tarMBps: tarBytes / 2 ** 20 / tarSeconds, tarRuns: tars.map((t) => t.seconds),
      ratio: (shardBytes / exportSeconds) / (tarBytes / tarSeconds),
    };
  } finally {
    await svc.stop();
  }
}

export async function datasetsBench({ distDir, outDir, log = console.log }) {
  const r = {};
  const n = {
    submit: num('BENCH_SUBMIT_URLS', 100_000), results: num('BENCH_RESULT_RECORDS', 1_000_000),
    images: num('BENCH_EXPORT_IMAGES', 8000), size: num('BENCH_EXPORT_IMAGE_BYTES', 65_536), repeats: num('BENCH_EXPORT_REPEATS', 5),
  };
  const parts = (env.BENCH_DATASETS_PARTS ?? 'submit,results,export').split(',').map((p) => p.trim());
  for (const [name, run] of [
    ['submit', () => submit({ distDir, outDir, n: n.submit })],
    ['results', () => results({ distDir, outDir, n: n.results })],
    ['export', () => exportVsTar({ distDir, outDir, n: n.images, size: n.size, repeats: n.repeats })],
  ]) {
    if (!parts.includes(name)) continue;
    log(`datasets: ${name}`);
    try {
      r[name] = await run();
    } catch (err) {
      r[name] = { error: String(err?.stack ?? err) };
    }
  }
  return r;
}

export function datasetsMarkdown(d) {
  if (!d) return '_not measured in this run (BENCH_ONLY=datasets, or `node bench/datasets.mjs`)._';
  const err = (x) => (!x ? 'not run (BENCH_DATASETS_PARTS)' : x.error ? `failed: ${x.error.split('\n')[0]}` : undefined);
  const s = d.submit;
  const r = d.results;
  const e = d.export;
  return [
    '| measurement | figure | baseline in the same run |',
    '|---|---|---|',
    `| submit ${s?.urls ?? '?'} URLs as one streamed NDJSON body (\`POST /batches\`, validated, written in one transaction, queued) | ${err(s) ?? `**${f2(s.seconds)} s** (${f1(s.urlsPerSecond / 1000)} k URLs/s); peak RSS **${mib(s.peakRss)} MiB**`} | RSS of the idle service before: ${s?.idleRss ? `${mib(s.idleRss)} MiB` : '–'} |`,
    `| stream ${r?.records ?? '?'} result records (\`GET /batches/:id/results\`, ${r?.bytes ? `${mib(r.bytes)} MiB` : '?'} of NDJSON) | ${err(r) ?? `**${f1(r.seconds)} s** (${f1(r.recordsPerSecond / 1000)} k records/s); peak RSS **${mib(r.peakRss)} MiB** (target < 300 MiB)`} | RSS of the idle service before: ${r?.idleRss ? `${mib(r.idleRss)} MiB` : '–'} |`,
    `| WebDataset export of ${e?.images ?? '?'} stored images of ${e?.imageBytes ?? '?'} B (${e?.shards ?? '?'} shards, ${e?.shardBytes ? `${mib(e.shardBytes)} MiB` : '?'}), median of ${e?.repeats ?? '?'} runs interleaved with tar's, page cache warm for both${e?.loadAverage ? ` (load average after: ${e.loadAverage})` : ''} | ${err(e) ?? `**${f1(e.exportMBps)} MiB/s** (${f2(e.exportSeconds)} s from the export's created_at to its finished_at; ${f2(e.exportClientSeconds)} s from POST to the 50 ms poll that sees it done; ${f2(e.exportCpu)} CPU s, all threads) = **${f2(e.ratio)}×** tar (target ≥ 0.5×)`} | \`tar -cf\` of the same stored files to the same disk: ${e?.tarMBps ? `${f1(e.tarMBps)} MiB/s (${f2(e.tarSeconds)} s; ${f2(e.tarCpu)} CPU s)` : '–'} |`,
  ].join('\n');
}

export const DATASETS_HEADING = '## Datasets (issue 10): batches, results stream, exports';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { runSectionAlone } = await import('./lib/section-alone.mjs');
  await runSectionAlone({ name: 'datasets', heading: DATASETS_HEADING, measure: datasetsBench, markdown: datasetsMarkdown, what: ' (standalone service, SQLite, in-process queue)' });
}
