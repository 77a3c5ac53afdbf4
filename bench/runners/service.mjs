/**
 * This service as the job's runner: started standalone (one process) or as a cluster (1 API + k workers over
 * MongoDB and RabbitMQ), then driven end to end through its API: a text task and an images task for every
 * page, polled until none is queued or running. CPU and peak RSS are summed over the service's processes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { countFiles, cpuSeconds, listeningPorts, peakRss, sleep, sum, track, until, waitForLog } from '../lib/proc.mjs';
import { rootRequire } from '../lib/root-deps.mjs';
import { semaphore } from '../lib/semaphore.mjs';

const { Pool, request } = rootRequire('undici');

function spawnService(distDir, env, logFile, nodeArgs = []) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  return track(
    spawn(process.execPath, [...nodeArgs, path.join(distDir, 'main.js')], {
      cwd: path.dirname(distDir),
      env: { ...process.env, ...env },
      stdio: ['ignore', out, out],
    }),
  );
}

async function stopAll(children, signal = 'SIGTERM', graceMs = 30_000) {
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill(signal);
        }),
    ),
  );
}

/**
 * The service binds PORT=0; its port is read from /proc (by any LOG_LEVEL, unlike the "listening" line), then
 * it is ready when GET /health answers 200. Resolves to its base URL.
 */
function waitForApi(child, logFile, timeoutMs = 60_000) {
  return until(async () => {
    if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}) during start-up; see ${logFile}`);
    const [port] = listeningPorts(child.pid);
    if (!port) return false;
    const url = `http://127.0.0.1:${port}`;
    const res = await request(`${url}/health`).catch(() => undefined);
    if (!res) return false;
    await res.body.dump();
    return res.statusCode === 200 && url;
  }, timeoutMs, `the API of pid ${child.pid} (log: ${logFile})`);
}

const baseEnv = (dataDir) => ({
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: dataDir,
  ALLOW_PRIVATE_NETWORKS: 'true', // the fixture site is on 127.0.0.1
});

/** One process, API + worker, SQLite + in-process queue: the embedded default. */
export async function startStandalone({ distDir, dataDir, logDir, logName = 'standalone.log', env = {}, nodeArgs = [] }) {
  const logFile = path.join(logDir, logName);
  // MONGO_URL/AMQP_URL of the caller's services (the cluster section's, from the environment) would make it a cluster node.
  const child = spawnService(distDir, { ...baseEnv(dataDir), MONGO_URL: undefined, AMQP_URL: undefined, ...env }, logFile, nodeArgs);
  let url;
  try {
    url = await waitForApi(child, logFile);
  } catch (err) {
    await stopAll([child], 'SIGKILL');
    throw err;
  }
  return { url, dataDir, procs: [child], stop: () => stopAll([child]) };
}

/** 1 API + `workers` worker processes sharing a data dir, a Mongo database and a queue of their own; `nodeArgs` e.g. --cpu-prof. */
export async function startCluster({ distDir, dataDir, logDir, workers, mongoUrl, amqpUrl, env = {}, nodeArgs = [] }) {
  const tag = randomBytes(4).toString('hex');
  const db = new URL(mongoUrl);
  db.pathname = `/scrapeds_bench_${tag}`;
  const common = { ...baseEnv(dataDir), MONGO_URL: db.toString(), AMQP_URL: amqpUrl, QUEUE_NAME: `scrapeds-bench-${tag}`, ...env };
  const apiLog = path.join(logDir, `cluster${workers}-api.log`);
  const api = spawnService(distDir, { ...common, ROLE: 'api' }, apiLog, nodeArgs);
  const ws = Array.from({ length: workers }, (_, i) => {
    const file = path.join(logDir, `cluster${workers}-worker${i}.log`);
    return { child: spawnService(distDir, { ...common, ROLE: 'worker' }, file, nodeArgs), file };
  });
  const all = [api, ...ws.map((w) => w.child)];
  let url;
  try {
    url = await waitForApi(api, apiLog);
    await Promise.all(ws.map((w) => waitForLog(w.file, 'worker consuming', w.child)));
  } catch (err) {
    await stopAll(all, 'SIGKILL');
    throw err;
  }
  return {
    url,
    dataDir,
    procs: all,
    stop: async () => {
      await stopAll(all);
      await dropClusterState(common.MONGO_URL, amqpUrl, common.QUEUE_NAME).catch((err) => console.log(`bench: cleanup of ${tag}: ${err.message}`));
    },
  };
}

/** The Mongo database and the queue were the run's own; leave the shared services as they were. */
async function dropClusterState(mongoUrl, amqpUrl, queueName) {
  const mongoose = rootRequire('mongoose');
  const conn = await mongoose.createConnection(mongoUrl, { serverSelectionTimeoutMS: 5000 }).asPromise();
  await conn.dropDatabase();
  await conn.close();
  const amqp = rootRequire('amqplib');
  const c = await amqp.connect(amqpUrl);
  const ch = await c.createChannel();
  await ch.deleteQueue(queueName);
  await c.close();
}

async function json(pool, method, pathname, body) {
  const res = await pool.request({
    method,
    path: pathname,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.body.json();
  if (res.statusCode >= 400) throw new Error(`${method} ${pathname}: ${res.statusCode} ${JSON.stringify(data)}`);
  return data;
}

/** Every task of a kind, through the paginated list. */
async function listAll(pool, kind) {
  const items = [];
  let cursor;
  do {
    const page = await json(pool, 'GET', `/${kind}_tasks?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/**
 * The job's wall time: from the first POST to the latest `finished_at` of its tasks (the service's clock, ms
 * precision; the same machine's clock as the harness's), so the poll interval does not count. A task's
 * finish time is taken just before its final write, so this can be short by one store write.
 */
export function jobSeconds(startedAtMs, tasks) {
  const ends = tasks.map((t) => Date.parse(t.finished_at ?? ''));
  if (!ends.length || ends.some(Number.isNaN)) return undefined; // a task not final: the caller's poll time stands
  return (Math.max(...ends) - startedAtMs) / 1000;
}

/** Between polls: 250 ms, or 1% of the elapsed time once that is longer (up to `pollMaxMs`). */
export const pollDelayMs = (elapsedMs, pollMaxMs = 500) => Math.max(250, Math.min(pollMaxMs, elapsedMs / 100));

/**
 * Submits a task of each kind in `kinds` for every page (one POST per task, 8 at a time, or with
 * `submit: 'batch'` one POST /batches) and waits until all are final.
 * `seconds`: from the first POST to the last task's `finished_at` (jobSeconds); `window`: the first POST to
 * the poll that saw nothing queued or running, which is when `onFinished` runs (CPU is read there).
 */
export async function runApiJob(url, base, pagePaths, { kinds = ['text', 'images'], timeoutMs = 600_000, pollMaxMs = 500, submit = 'tasks', onFinished } = {}) {
  const pool = new Pool(url, { connections: 8 });
  const limit = semaphore(8);
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const fromUs = nowUs();
  const t0 = performance.now();
  const startedAtMs = Date.now();
  const urls = pagePaths.map((p) => new URL(p, base).href);
  // `batch`: the same tasks in the same order (page by page, its kinds together) through one POST /batches.
  if (submit === 'batch') await json(pool, 'POST', '/batches', { urls, kinds });
  else await Promise.all(urls.flatMap((u) => kinds.map((kind) => limit(() => json(pool, 'POST', `/${kind}_tasks`, { url: u })))));
  const submitSeconds = (performance.now() - t0) / 1000;
  const pending = async () => {
    for (const kind of kinds) {
      // Nothing is queued after the submissions; once nothing is queued, no task can become running again.
      for (const status of ['queued', 'running']) {
        const page = await json(pool, 'GET', `/${kind}_tasks?status=${status}&limit=1`);
        if (page.items.length) return true;
      }
    }
    return false;
  };
  const deadline = Date.now() + timeoutMs;
  while (await pending()) {
    if (Date.now() > deadline) throw new Error(`tasks not final after ${timeoutMs} ms`);
    // Each poll is store work for the service (a list query FerretDB answers by a scan), and the wall time
    // does not depend on when a poll lands (jobSeconds): poll no more often than a user watching would.
    await sleep(pollDelayMs(performance.now() - t0, pollMaxMs));
  }
  const pollSeconds = (performance.now() - t0) / 1000;
  const window = { fromUs, toUs: nowUs() };
  // Before the listing below, which is the harness's reading, not the job.
  onFinished?.();
  const tasks = (await Promise.all(kinds.map((k) => listAll(pool, k)))).flat();
  await pool.close();
  const seconds = jobSeconds(startedAtMs, tasks) ?? pollSeconds;
  const failed = tasks.filter((t) => t.status !== 'succeeded');
  const counts = { found: 0, stored: 0, reused: 0, failed: 0 };
  for (const t of tasks) for (const k of Object.keys(counts)) counts[k] += t.counts?.[k] ?? 0;
  return {
    seconds,
    pollSeconds,
    window,
    submitSeconds,
    pages: tasks.filter((t) => t.kind === 'text' && t.status === 'succeeded').length || tasks.filter((t) => t.status === 'succeeded').length,
    tasks: tasks.length,
    failedTasks: failed.length,
    failedSample: failed.slice(0, 3).map((t) => t.error),
    counts,
  };
}

/**
 * Runs `job(onFinished)` against a started service and adds what its processes spent meanwhile: up to the
 * job's call of `onFinished` (runApiJob's: when its poll sees every task final, before the harness lists
 * them), else up to its return.
 */
export async function measureService(service, job) {
  const pids = service.procs.map((c) => c.pid);
  const cpu0 = sum(pids.map(cpuSeconds));
  let cpu1;
  const r = await job(() => (cpu1 = sum(pids.map(cpuSeconds))));
  const cpu = (cpu1 ?? sum(pids.map(cpuSeconds))) - cpu0;
  const rss = sum(pids.map(peakRss));
  const perProcessRss = pids.map(peakRss);
  return { ...r, cpuSeconds: cpu, peakRss: rss, perProcessRss, images: countFiles(path.join(service.dataDir, 'media', 'images')) };
}

