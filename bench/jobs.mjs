/**
 * The job (N pages → text and images on disk) done by each runner, each run with a fresh output directory
 * and fresh processes. A result: seconds, pages, images (distinct files stored), cpuSeconds, peakRss.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cpuSeconds, runRunner } from './lib/proc.mjs';
import { startCluster, startStandalone, measureService, runApiJob } from './runners/service.mjs';

const here = import.meta.dirname;
export const venvPython = path.join(here, 'node_modules/.venv/bin/python');

function freshDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Peers and the raw loop: separate processes speaking the harness protocol. */
export async function runPeer(name, { site, concurrency, outDir, images, run = 1 }) {
  const dir = freshDir(path.join(outDir, `${name}-${run}`));
  const arg = JSON.stringify({ base: site.base, pages: site.plan.pagePaths, concurrency, outDir: path.join(dir, 'files'), images });
  const logFile = path.join(dir, 'stderr.log');
  if (name === 'scrapy') return runRunner(venvPython, [path.join(here, 'runners/scrapy_images.py'), arg], { logFile });
  return runPeerScript({ raw: 'raw-undici.mjs', crawlee: 'crawlee-cheerio.mjs' }[name], arg, dir);
}

/** A Node runner from runners/ with its JSON argument; its stderr goes to `dir`/stderr.log. */
export function runPeerScript(script, arg, dir) {
  // Crawlee keeps its request queue in CRAWLEE_STORAGE_DIR (default ./storage): give it the run's own dir.
  const env = { CRAWLEE_STORAGE_DIR: path.join(dir, 'crawlee-storage') };
  const json = typeof arg === 'string' ? arg : JSON.stringify(arg);
  return runRunner(process.execPath, [path.join(here, 'runners', script), json], { env, logFile: path.join(dir, 'stderr.log') });
}

/** This service, standalone: one process, fresh data dir. `nodeArgs` e.g. --cpu-prof; `submit` as runApiJob's (one POST per task, or `batch`). */
export async function runStandalone({ distDir, site, concurrency, outDir, images, name = 'standalone', run = 1, nodeArgs = [], env = {}, submit = 'tasks' }) {
  const dir = freshDir(path.join(outDir, `${name}-${run}`));
  const svc = await startStandalone({ distDir, dataDir: path.join(dir, 'data'), logDir: dir, nodeArgs, env: { PER_HOST_CONCURRENCY: String(concurrency), ...env } });
  try {
    return await measureService(svc, (onFinished) => runApiJob(svc.url, site.base, site.plan.pagePaths, { kinds: images ? ['text', 'images'] : ['text'], submit, onFinished }));
  } finally {
    await svc.stop();
  }
}

/** This service as a cluster; also reports what FerretDB and RabbitMQ spent meanwhile, where they are ours. */
export async function runCluster({ distDir, site, concurrency, outDir, workers, services, env = {}, job = {}, nodeArgs = [] }) {
  const dir = freshDir(path.join(outDir, `cluster${workers}`));
  const svc = await startCluster({
    distDir,
    dataDir: path.join(dir, 'data'),
    logDir: dir,
    workers,
    mongoUrl: services.mongoUrl,
    amqpUrl: services.amqpUrl,
    env: { PER_HOST_CONCURRENCY: String(concurrency), ...env },
    nodeArgs,
  });
  try {
    const infra0 = services.infraCpu();
    // The rest of what shares the cores: the fixture site and this harness (its HTTP client and polls).
    const site0 = cpuSeconds(site.pid);
    const harness0 = process.cpuUsage();
    // CPU is read at the poll that sees every task final (measureService's too): the harness's listing of every
    // task afterwards is not the job's.
    let infra1, harness, siteCpu;
    const onFinished = () => {
      infra1 = services.infraCpu();
      harness = process.cpuUsage(harness0);
      siteCpu = cpuSeconds(site.pid) - site0;
    };
    const r = await measureService(svc, (markEnd) => runApiJob(svc.url, site.base, site.plan.pagePaths, { ...job, onFinished: () => (markEnd(), onFinished()) }));
    const others = { site: siteCpu, harness: (harness.user + harness.system) / 1e6 };
    const infraCpu = infra0 && { ferretdb: infra1.ferretdb - infra0.ferretdb, rabbitmq: infra1.rabbitmq - infra0.rabbitmq };
    return { ...r, otherCpu: others, infraCpu: infraCpu && { ...infraCpu, total: infraCpu.ferretdb + infraCpu.rabbitmq } };
  } finally {
    await svc.stop();
  }
}

/** Runs `fn` `repeat` times; keeps the run with the median wall time, and the spread of rates. */
export async function medianOf(repeat, fn) {
  const runs = [];
  for (let i = 0; i < repeat; i++) runs.push(await fn(i));
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...median, runs: runs.map((r) => r.seconds) };
}
