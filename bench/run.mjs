/**
 * npm run bench: every measurement of issue 5, then bench/RESULTS.md (and bench/out/results.json).
 * Sizes come from the environment (see bench/README.md); everything talks to 127.0.0.1 only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiRounds, serviceRead } from './api-throughput.mjs';
import { isMainThread, summarise, summaryMarkdown } from './cpuprofile-summary.mjs';
import { spawnFixtureSite } from './fixture-site.mjs';
import { medianOf, runCluster, runPeer, runStandalone, venvPython } from './jobs.mjs';
import { buildService } from './lib/build.mjs';
import { benchRequire, repoRoot, rootRequire, versionOf } from './lib/root-deps.mjs';
import { clusterServices } from './lib/services.mjs';
import { notes } from './notes.mjs';
import { datasetsBench } from './datasets.mjs';
import { crawlBench } from './crawl.mjs';
import { opsRun } from './ops.mjs';
import { resultsMarkdown } from './results-md.mjs';
import { scaleRun } from './scale.mjs';
import { extractBench } from './extract.mjs';
import { extractHeldOutBench } from './extract-heldout.mjs';
import { hashesRun } from './hashes.mjs';
import { neardupRun } from './neardup.mjs';
import { ferretdbBackendsRun } from './ferretdb-backends.mjs';
import { ferretdbTuningRun } from './ferretdb-tuning.mjs';
import { scaleoutRun } from './scaleout.mjs';
import { clusterCpuRound } from './cluster-cpu.mjs';
import { storeOpsRun } from './store-ops.mjs';
import { commandStatsEnv, commandsPerTask } from './lib/mongo-command-stats.mjs';

const here = import.meta.dirname;
const env = process.env;
const num = (name, dflt) => (env[name] === undefined || env[name] === '' ? dflt : Number(env[name]));
const params = {
  site: {
    pages: num('BENCH_PAGES', 500),
    imagesPerPage: num('BENCH_IMAGES_PER_PAGE', 10),
    share: num('BENCH_SHARE', 0.3),
    imageBytes: num('BENCH_IMAGE_BYTES', 2048),
    pageBytes: num('BENCH_PAGE_BYTES', 16_384),
    latencyMs: num('BENCH_LATENCY_MS', 0),
  },
  concurrency: num('BENCH_CONCURRENCY', 4),
  repeat: num('BENCH_REPEAT', 3),
  clusterPages: num('BENCH_CLUSTER_PAGES', 80),
  apiConnections: num('BENCH_API_CONNECTIONS', 10),
  apiSeconds: num('BENCH_API_SECONDS', 10),
  // The ops section measures three variants one after another per round: more, shorter rounds give a spread.
  opsRounds: num('BENCH_OPS_ROUNDS', 6),
  opsSeconds: num('BENCH_OPS_SECONDS', 6),
  scale: num('BENCH_SCALE', 1),
  scaleout: {
    pages: num('BENCH_SCALEOUT_PAGES', 200),
    imagesPerPage: num('BENCH_SCALEOUT_IMAGES_PER_PAGE', 4),
    latencyMs: num('BENCH_SCALEOUT_LATENCY_MS', 100),
    workerCounts: (env.BENCH_SCALEOUT_WORKERS || '1,2,4').split(',').map(Number),
    // 1: the I/O-bound setting the target is measured at; 4: the setting before, CPU-bound on 2 cores (scaleout.mjs).
    workerConcurrencies: (env.BENCH_SCALEOUT_WORKER_CONCURRENCY || '1,4').split(',').map(Number),
    rounds: num('BENCH_SCALEOUT_ROUNDS', 1),
    perHost: num('BENCH_SCALEOUT_PER_HOST', 64),
    // How the 400 tasks go in: `batch` (one POST /batches) or `tasks` (one POST per task, 8 at a time).
    submit: env.BENCH_SCALEOUT_SUBMIT || 'batch',
  },
  storeOps: { pages: num('BENCH_STORE_OPS_PAGES', 40), imagesPerPage: num('BENCH_IMAGES_PER_PAGE', 10), concurrency: num('BENCH_STORE_OPS_CONCURRENCY', 8) },
  ferretdbTuning: { rounds: num('BENCH_FERRETDB_TUNING_ROUNDS', 4), ops: num('BENCH_FERRETDB_OPS', 200), concurrency: num('BENCH_FERRETDB_CONCURRENCY', 4) },
  ferretdb: { rounds: num('BENCH_FERRETDB_ROUNDS', 4), ops: num('BENCH_FERRETDB_OPS', 200), concurrency: num('BENCH_FERRETDB_CONCURRENCY', 4), suite: env.BENCH_FERRETDB_SUITE === '1' },
};
const only = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',')) : undefined; // e.g. BENCH_ONLY=jobs,api
const want = (section) => !only || only.has(section);
// The jobs section's runners, e.g. BENCH_RUNNERS=standalone,raw while working on the service alone.
const runnersWanted = env.BENCH_RUNNERS ? new Set(env.BENCH_RUNNERS.split(',')) : undefined;
const runnerWanted = (k) => !runnersWanted || runnersWanted.has(k);
const outDir = path.join(here, 'out');
const t0 = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), error: r.error };
}

/**
 * The peers' dependencies: npm packages in bench/node_modules, Scrapy in a venv beside them (ignored by git,
 * eslint, tsc). A fresh clone has none of them, so nothing from bench/node_modules may be imported statically
 * by a module run.mjs loads (bench/smoke-fresh-clone.sh checks this). `python`: also the Scrapy venv, which
 * only the jobs section uses.
 */
function ensurePeers(python = true) {
  if (!fs.existsSync(path.join(repoRoot, 'node_modules/undici'))) throw new Error('run `npm ci` at the repo root first');
  if (!fs.existsSync(path.join(here, 'node_modules/@crawlee/cheerio')) || !fs.existsSync(path.join(here, 'node_modules/autocannon'))) {
    log('installing bench/ npm packages (npm ci)');
    const r = sh('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
    if (!r.ok) throw new Error('npm ci in bench/ failed');
  }
  if (fs.existsSync(venvPython)) return undefined;
  if (!python) return 'not needed by the sections run';
  log('creating the Scrapy venv (PyPI)');
  const venv = path.dirname(path.dirname(venvPython));
  const made = sh('python3', ['-m', 'venv', venv]);
  const pip = made.ok && sh(path.join(venv, 'bin/pip'), ['install', '-q', '-r', path.join(here, 'requirements.txt')]);
  if (made.ok && pip.ok) return undefined;
  fs.rmSync(venv, { recursive: true, force: true });
  return `Scrapy could not be installed: ${(pip || made).out.split('\n').slice(-2).join(' ')}`;
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  return { nproc: os.availableParallelism(), cpu, memGiB: (os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
}

/** The service measured is the working tree: its commit, and whether src/ differs from it. */
function serviceRevision() {
  const head = sh('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot });
  if (!head.ok) return 'unknown (no git)';
  const dirty = sh('git', ['status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json'], { cwd: repoRoot }).out.split('\n').filter(Boolean).length;
  return `${head.out}${dirty ? ` + ${dirty} uncommitted file(s) under src/ or package*.json` : ''}`;
}

function versions(scrapyMissing) {
  const py = scrapyMissing
    ? {}
    : Object.fromEntries(
        sh(venvPython, ['-c', 'import sys, scrapy, PIL; print(sys.version.split()[0], scrapy.__version__, PIL.__version__)'])
          .out.split(' ')
          .map((v, i) => [['python', 'scrapy', 'pillow'][i], v]),
      );
  return {
    'scrapeds (working tree)': serviceRevision(),
    node: process.versions.node,
    undici: versionOf(rootRequire, 'undici'),
    cheerio: versionOf(rootRequire, 'cheerio'),
    express: versionOf(rootRequire, 'express'),
    'better-sqlite3': versionOf(rootRequire, 'better-sqlite3'),
    '@crawlee/cheerio': versionOf(benchRequire, '@crawlee/cheerio'),
    autocannon: versionOf(benchRequire, 'autocannon'),
    ...py,
  };
}

/** Main thread in full, worker threads (piscina's HTML parsing) summed; only samples inside the job's `window`. */
function profileSummary(dir, window) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  const main = files.filter(isMainThread);
  const workers = files.filter((f) => !isMainThread(f));
  if (!main.length) throw new Error(`no main-thread .cpuprofile in ${dir}`);
  const load = (fs_) => fs_.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  return {
    files: files.map((f) => path.relative(repoRoot, f)),
    markdown: summaryMarkdown(main, 25, window),
    workersMarkdown: workers.length ? summaryMarkdown(workers, 10, window) : undefined,
    workerThreads: workers.length,
    origins: summarise(load(main), window).origins.slice(0, 12),
    workerOrigins: workers.length ? summarise(load(workers), window).origins.slice(0, 8) : [],
  };
}

/** A section that fails is written down as failed; the rest still runs. */
async function section(name, fn) {
  log(`${name} …`);
  try {
    const r = await fn();
    log(`${name} done`);
    return r;
  } catch (err) {
    log(`${name} failed: ${err.stack ?? err}`);
    return { error: String(err.message ?? err).split('\n')[0] };
  }
}

if (process.argv.includes('--render')) {
  // Rewrites RESULTS.md from the last run's bench/out/results.json, e.g. after changing its layout.
  const last = JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8'));
  fs.writeFileSync(path.join(here, 'RESULTS.md'), resultsMarkdown({ ...last, notes: notes(last) }));
  process.exit(0);
}

fs.mkdirSync(outDir, { recursive: true });
const R = { startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), params, warnings: [], machine: machine(), textJob: {}, fullJob: {} };
// The extraction bench needs neither the peers nor the fixture site.
const needsSite = ['jobs', 'profile', 'cluster', 'api', 'ops', 'scale'].some(want);
const scrapyMissing = needsSite || want('crawl') ? ensurePeers(want('jobs') && runnerWanted('scrapy')) : 'not needed';
R.versions = versions(scrapyMissing);
log('building the service (tsc, into a temp dir)');
const build = buildService();
const site = needsSite ? await spawnFixtureSite(params.site) : { plan: {}, stop: () => {} };
R.plan = site.plan;
const common = { distDir: build.distDir, site, concurrency: params.concurrency };

try {
  if (want('jobs')) {
    // Interleaved repeats, so a noisy minute on a shared machine hurts every runner alike.
    for (const [jobName, images] of [['textJob', false], ['fullJob', true]]) {
      const runs = { standalone: [], standaloneBatch: [], raw: [], crawlee: [], scrapy: [] };
      for (let i = 0; i < params.repeat; i++) {
        for (const k of Object.keys(runs)) {
          if ((k === 'scrapy' && scrapyMissing) || !runnerWanted(k)) continue;
          const dir = path.join(outDir, jobName);
          const run = () => {
            if (k === 'standalone') return runStandalone({ ...common, outDir: dir, images, run: i + 1 });
            if (k === 'standaloneBatch') return runStandalone({ ...common, outDir: dir, images, run: i + 1, name: 'standalone-batch', submit: 'batch' });
            return runPeer(k, { ...common, outDir: dir, images, run: i + 1 });
          };
          const r = await section(`${jobName} ${k} #${i + 1}`, run);
          runs[k].push(r);
        }
      }
      for (const [k, rs] of Object.entries(runs)) {
        // A failed repeat is reported beside the median of those that finished.
        const good = rs.filter((r) => !r.error);
        const failedRuns = rs.filter((r) => r.error).map((r) => r.error);
        if (!runnerWanted(k)) R[jobName][k] = { skipped: 'not selected (BENCH_RUNNERS)' };
        else if (k === 'scrapy' && scrapyMissing) R[jobName][k] = { skipped: scrapyMissing };
        else if (!good.length) R[jobName][k] = rs[0];
        else R[jobName][k] = { ...(await medianOf(good.length, (i) => good[i])), failedRuns };
      }
    }
  }
  if (want('profile')) {
    R.profile = await section('profile', async () => {
      const dir = path.join(outDir, 'profile');
      fs.rmSync(dir, { recursive: true, force: true });
      const r = await runStandalone({ ...common, outDir: path.join(outDir, 'profiled'), images: true, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
      return { seconds: r.seconds, ...profileSummary(dir, r.window) };
    });
    R.apiProfile = await section('profile of the API read', async () => {
      const dir = path.join(outDir, 'profile-api');
      fs.rmSync(dir, { recursive: true, force: true });
      const o = { ...common, outDir: path.join(outDir, 'api'), connections: params.apiConnections, seconds: Math.min(params.apiSeconds, 5), name: 'api-profiled' };
      const r = await serviceRead({ ...o, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
      return { rps: r.rps, seconds: o.seconds, ...profileSummary(dir, r.window) };
    });
  }
  /** The cluster sections' setup: private services and the cluster job's site, both stopped after `body`. */
  const onClusterSite = async (body) => {
    const services = clusterServices(outDir);
    if (services.unavailable) return { skipped: `no MONGO_URL/AMQP_URL: ${services.unavailable}` };
    const clusterSite = await spawnFixtureSite({ ...params.site, pages: params.clusterPages });
    try {
      return await body(services, clusterSite);
    } finally {
      clusterSite.stop();
      services.stop();
    }
  };
  if (want('cluster')) {
    R.cluster = await section('cluster', () =>
      onClusterSite(async (services, clusterSite) => {
        // The target "cluster 1 worker ≥ 0.5× standalone" is measured in rounds, each a 1-worker cluster run and
        // standalone on the same job and site, interleaved (a single pair swings with the shared machine's load);
        // the ratio is the median of the rounds' ratios. Each submission mode gets its rounds: `tasks` (one POST per
        // task, the target's mode) and `batch` (the same tasks through one POST /batches, whose page-mates start
        // together). BENCH_CLUSTER_SUBMIT picks the modes (the first is the target's), BENCH_CLUSTER_ROUNDS the rounds.
        const submits = (env.BENCH_CLUSTER_SUBMIT || 'tasks,batch').split(',').map((x) => x.trim()).filter(Boolean);
        const rounds = Math.max(1, num('BENCH_CLUSTER_ROUNDS', 5));
        const base = { ...common, site: clusterSite, outDir: path.join(outDir, 'cluster'), services };
        const modes = [];
        for (const submit of submits) {
          const c = { ...base, job: { submit } };
          const pairs = [];
          for (let i = 0; i < rounds; i++) {
            const one = await runCluster({ ...c, workers: 1 });
            const standalone = await runStandalone({ ...c, images: true, name: `cluster-baseline-${submit}-${i}` });
            pairs.push({ one, standalone, ratio: one.images / one.seconds / (standalone.images / standalone.seconds) });
          }
          const byRatio = [...pairs].sort((a, b) => a.ratio - b.ratio);
          modes.push({ submit, ratios: pairs.map((x) => x.ratio), ...byRatio[Math.floor((byRatio.length - 1) / 2)] });
        }
        const c = { ...base, job: { submit: submits[0] } };
        const { one, standalone } = modes[0];
        const two = await runCluster({ ...c, workers: 2 });
        // The store's round trips per task, counted by kind in a 1-worker run of their own (bench/lib/mongo-command-stats.mjs):
        // the driver's command events and their tally cost the service's processes ~15% more Node CPU per
        // command (measured), which the timed runs above must not pay.
        const statsDir = path.join(outDir, 'cluster', 'command-stats');
        fs.rmSync(statsDir, { recursive: true, force: true });
        const counted = await runCluster({ ...c, workers: 1, env: commandStatsEnv(statsDir) });
        one.commands = commandsPerTask(statsDir, counted.tasks);
        one.commandsRun = { seconds: counted.seconds, infraCpu: counted.infraCpu, tasks: counted.tasks };
        return { source: services.source, pages: params.clusterPages, imagesPerPage: params.site.imagesPerPage, uniqueImages: clusterSite.plan.uniqueImages, concurrency: params.concurrency, one, two, standalone, modes, rounds };
      }),
    );
  }
  if (want('clusterprofile')) {
    // Where the cluster's extra Node CPU per task goes (issue 9): API + 1 worker and standalone, profiled, on the cluster job.
    R.clusterProfile = await section('cluster profile (API + 1 worker vs standalone, --cpu-prof)', () =>
      onClusterSite((services, clusterSite) =>
        clusterCpuRound({ distDir: build.distDir, site: clusterSite, concurrency: params.concurrency, services, outDir: path.join(outDir, 'cluster-profile'), profile: true }),
      ),
    );
  }
  if (want('api')) {
    R.api = await section('api', async () => {
      return apiRounds({ ...common, outDir: path.join(outDir, 'api'), connections: params.apiConnections, seconds: params.apiSeconds, rounds: params.repeat });
    });
  }
  if (want('datasets')) R.datasets = await section('datasets', () => datasetsBench({ distDir: build.distDir, outDir, log }));
  if (want('crawl')) R.crawl = await section('crawl (5,000-page site vs Crawlee)', () => crawlBench({ distDir: build.distDir, outDir, log }));
  if (want('extract')) {
    R.extract = await section('extract (main content on the article-extraction dev set)', () =>
      extractBench({ distDir: build.distDir, outDir, limit: num('BENCH_EXTRACT_PAGES', Infinity) }));
    R.extractHeldOut = await section('extract (main content on held-out articles: article-extraction-benchmark)', () =>
      extractHeldOutBench({ distDir: build.distDir }));
  }
  if (want('ops')) {
    R.ops = await section('ops (keys, rate limits, /metrics, stats)', () =>
      opsRun({ ...common, outDir, connections: params.apiConnections, seconds: params.opsSeconds, rounds: params.opsRounds }));
  }
  if (want('scaleout')) R.scaleout = await section('scaleout (I/O-bound job, 1/2/4 workers)', () => scaleoutRun({ distDir: build.distDir, outDir, log, ...params.scaleout }));
  if (want('storeops')) {
    R.storeOps = await section('store operations per image', async () => {
      const services = clusterServices(outDir);
      try {
        return { source: services.unavailable ? `no MongoDB: ${services.unavailable}` : services.source, ...(await storeOpsRun({ distDir: build.distDir, mongoUrl: services.mongoUrl, infraCpu: services.infraCpu, ...params.storeOps })) };
      } finally {
        services.stop?.();
      }
    });
  }
  if (want('ferretdb')) R.ferretdb = await section('ferretdb backends', () => ferretdbBackendsRun({ distDir: build.distDir, outDir, ...params.ferretdb }));
  if (want('ferretdbtuning')) {
    // The stand-in's settings against the untuned ones, on the store path and on the cluster job (its site).
    R.ferretdbTuning = await section('ferretdb tuning (tuned vs untuned stand-in)', async () => {
      const clusterSite = await spawnFixtureSite({ ...params.site, pages: params.clusterPages });
      try {
        return await ferretdbTuningRun({ distDir: build.distDir, outDir, site: clusterSite, ...params.ferretdbTuning });
      } finally {
        clusterSite.stop();
      }
    });
  }
  if (want('hashes')) R.hashes = await section('hashes', () => hashesRun({ distDir: build.distDir }));
  if (want('neardup')) R.neardup = await section('neardup', () => neardupRun({ distDir: build.distDir }));
  if (want('scale')) R.scale = await section(`scale (BENCH_SCALE=${params.scale})`, () => scaleRun({ distDir: build.distDir, outDir, scale: params.scale }));
} finally {
  site.stop();
  build.cleanup();
}

R.machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
R.durationSec = (Date.now() - t0) / 1000;
if (only) R.warnings.push(`Partial run: BENCH_ONLY=${env.BENCH_ONLY}; sections not run show as not measured.`);
if (params.scale < 1) R.warnings.push(`The scale run used BENCH_SCALE=${params.scale} (${R.scale?.imageUrls ?? '?'} image URLs), not the full 100,000.`);
R.notes = notes(R);
fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(R, null, 2));
fs.writeFileSync(path.join(here, 'RESULTS.md'), resultsMarkdown(R));
log(`wrote bench/RESULTS.md (${(R.durationSec / 60).toFixed(1)} min)`);
