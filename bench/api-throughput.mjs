/**
 * API read throughput: GET /text_tasks/:id on the standalone service (one succeeded task) against a bare
 * Express hello-world, with autocannon from this process, same connections and duration for each.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { cpuSeconds, peakRss, sleep, track } from './lib/proc.mjs';
import { rootRequire } from './lib/root-deps.mjs';
import { startStandalone } from './runners/service.mjs';

const { request } = rootRequire('undici');

async function cannon(url, { connections, seconds }) {
  // Loaded here, not at the top: run.mjs imports this module before its first run has installed bench/'s packages.
  const { default: autocannon } = await import('autocannon');
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    window: { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) },
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

async function withCost(pid, fn) {
  const c0 = cpuSeconds(pid);
  const r = await fn();
  return { ...r, serverCpuSeconds: cpuSeconds(pid) - c0, serverPeakRss: peakRss(pid) };
}

async function oneSucceededTask(url, site) {
  const res = await request(`${url}/text_tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${site.base}/p/0.html` }) });
  const task = await res.body.json();
  for (let i = 0; i < 200; i++) {
    const r = await request(`${url}/text_tasks/${task.id}`);
    const t = await r.body.json();
    if (t.status === 'succeeded') return `/text_tasks/${task.id}`;
    if (t.status === 'failed') throw new Error(`API bench task failed: ${JSON.stringify(t.error)}`);
    await sleep(50);
  }
  throw new Error('API bench task did not finish');
}

/** `env` is extra service configuration, e.g. LOG_LEVEL=warn to see what per-request logging costs. */
export async function serviceRead({ distDir, site, outDir, connections, seconds, name = 'api', env = {}, nodeArgs = [] }) {
  const svc = await startStandalone({ distDir, dataDir: path.join(outDir, name, 'data'), logDir: outDir, logName: `${name}.log`, env, nodeArgs });
  try {
    const taskPath = await oneSucceededTask(svc.url, site);
    await cannon(svc.url + taskPath, { connections, seconds: 1 }); // warm up the JIT
    return await withCost(svc.procs[0].pid, () => cannon(svc.url + taskPath, { connections, seconds }));
  } finally {
    await svc.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * The three servers of the API section (the service at LOG_LEVEL=info, at warn, bare Express) started once
 * and measured in interleaved rounds (the first server rotates), so a noisy minute on a shared machine
 * hurts each alike; a ratio is the median of the per-round ratios.
 */
export async function apiRounds({ distDir, site, outDir, connections, seconds, rounds }) {
  const servers = [];
  const stops = [];
  try {
    for (const [name, env] of [['service', {}], ['serviceWarn', { LOG_LEVEL: 'warn' }]]) {
      const svc = await startStandalone({ distDir, dataDir: path.join(outDir, `api-${name}`, 'data'), logDir: outDir, logName: `api-${name}.log`, env });
      stops.push(() => svc.stop());
      servers.push({ name, url: svc.url + (await oneSucceededTask(svc.url, site)), pid: svc.procs[0].pid });
    }
    const child = track(spawn(process.execPath, [path.join(import.meta.dirname, 'runners/express-hello.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] }));
    stops.push(() => child.kill('SIGTERM'));
    const { port } = await new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l))));
    servers.push({ name: 'express', url: `http://127.0.0.1:${port}/hello`, pid: child.pid });
    for (const s of servers) await cannon(s.url, { connections, seconds: 1 }); // warm up the JIT
    const runs = Object.fromEntries(servers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(round + k) % servers.length];
        runs[s.name].push(await withCost(s.pid, () => cannon(s.url, { connections, seconds })));
      }
    }
    const summary = (rs) => {
      const mid = [...rs].sort((a, b) => a.rps - b.rps)[Math.floor((rs.length - 1) / 2)];
      return { ...mid, rps: median(rs.map((r) => r.rps)), rounds: rs.map((r) => r.rps), cpuMsPerRequest: rs.map((r) => (1000 * r.serverCpuSeconds) / (r.ok + r.errors)) };
    };
    const out = Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, summary(rs)]));
    const ratio = (a) => median(runs[a].map((r, i) => r.rps / runs.express[i].rps));
    return { connections, seconds, rounds, ...out, ratio: ratio('service'), ratioWarn: ratio('serviceWarn') };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
