/**
 * BENCH_ONLY=ferretdbtuning: the stand-in's settings (scripts/services.sh: Go runtime, FerretDB → PostgreSQL
 * transport, PostgreSQL settings) against the untuned stand-in, both FerretDB v1 on PostgreSQL, side by side
 * in their own state dirs and measured interleaved (A B, B A, …), so a busy minute on a shared machine hits
 * both alike. Per round, what FerretDB and its PostgreSQL (postmaster and backends) spent, per MongoDB
 * command (counted by FerretDB itself, its /debug/metrics) and per image:
 * - store: the image path a worker takes per image (imagePathRound of ferretdb-backends.mjs),
 *   BENCH_FERRETDB_OPS images, BENCH_FERRETDB_CONCURRENCY at a time;
 * - cluster (with `site`): the cluster job, API + 1 worker, one RabbitMQ for both stand-ins.
 *
 * CLI: node bench/ferretdb-tuning.mjs [--rounds N] [--cluster] [--config NAME=VAR=V,VAR=V]… (extra variants
 * beside the two, for trying settings; VAR is one of services.sh's variables).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { imagePathRound } from './ferretdb-backends.mjs';
import { runCluster } from './jobs.mjs';
import { cpuSeconds, freePort, postgresCpuSeconds } from './lib/proc.mjs';
import { repoRoot } from './lib/root-deps.mjs';

const script = path.join(repoRoot, 'scripts/services.sh');
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];

/** services.sh's variables for the stand-in as it was before the tuning (issue 9); the tuned one is its defaults. */
export const UNTUNED = { FERRETDB_PG_VIA: 'tcp', FERRETDB_GOGC: '100', FERRETDB_GOMAXPROCS: String(os.cpus().length), FERRETDB_PG_ID_INDEX: '0' };
export const CONFIGS = { untuned: UNTUNED, tuned: {} };

/** FerretDB on PostgreSQL with `vars`, in its own state dir; with `full`, RabbitMQ (and S3) too. */
async function startStandIn(outDir, name, vars, full) {
  const debugPort = await freePort();
  const dir = path.join(outDir, `ferretdb-tuning-${name}`);
  const env = { ...process.env, ...vars, SERVICES_DIR: dir, FERRETDB_BACKEND: 'postgresql', FERRETDB_DEBUG_ADDR: `127.0.0.1:${debugPort}`, SERVICES_RABBIT_NODE: process.env.BENCH_RABBIT_NODE || 'scrapeds-bench@localhost' };
  const run = (...args) => spawnSync(script, args, { cwd: repoRoot, env, encoding: 'utf8', timeout: 900_000 });
  const r = full ? run('start') : run('start', 'ferretdb');
  if (r.status !== 0) {
    run('stop');
    throw new Error(`scripts/services.sh start (${name}) failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  }
  const vars2 = Object.fromEntries([...fs.readFileSync(path.join(dir, 'env'), 'utf8').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  const pid = Number(fs.readFileSync(path.join(dir, 'ferretdb/pid'), 'utf8'));
  const commands = async () => {
    const text = await (await fetch(`http://127.0.0.1:${debugPort}/debug/metrics`)).text();
    return [...text.matchAll(/^ferretdb_client_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const cpu = () => ({ ferretdb: cpuSeconds(pid), postgres: postgresCpuSeconds(dir) });
  // MONGO_VIA=unix (the bench's, not services.sh's): the clients reach FerretDB over its Unix socket.
  return { name, vars, url: vars.MONGO_VIA === 'unix' ? vars2.MONGO_URL_UNIX : vars2.MONGO_URL, amqpUrl: vars2.AMQP_URL, pid, dir, commands, cpu, stop: () => run('stop') };
}

/** What a stand-in spent over `body`: CPU seconds of FerretDB and of PostgreSQL, and MongoDB commands. */
async function metered(svc, body) {
  const c0 = svc.cpu();
  const n0 = await svc.commands();
  const out = await body();
  const c1 = svc.cpu();
  const commands = (await svc.commands()) - n0;
  return { ...out, commands, ferretdbCpu: c1.ferretdb - c0.ferretdb, postgresCpu: c1.postgres - c0.postgres };
}

function storeRound(openStore, svc, round, opts) {
  return imagePathRound(openStore, svc.url, round, opts, (run) =>
    metered(svc, async () => {
      const t0 = process.hrtime.bigint();
      await run();
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, images: opts.ops };
    }),
  );
}

async function clusterRound(svc, { distDir, site, concurrency, outDir, amqpUrl }) {
  // runCluster reads infraCpu() when the job starts and when its last task is final (before the harness lists
  // the tasks): the stand-in's CPU and command count at those two points.
  const marks = [];
  const infraCpu = () => (marks.push({ cpu: svc.cpu(), commands: svc.commands() }), { ferretdb: 0, rabbitmq: 0 });
  const r = await runCluster({ distDir, site, concurrency, outDir: path.join(outDir, `ferretdb-tuning-${svc.name}-job`), workers: 1, services: { mongoUrl: svc.url, amqpUrl, infraCpu } });
  if (r.failedTasks) throw new Error(`${r.failedTasks} tasks failed on ${svc.name}`);
  const [a, b] = marks;
  return {
    seconds: r.seconds,
    images: r.images,
    tasks: r.tasks,
    commands: (await b.commands) - (await a.commands),
    ferretdbCpu: b.cpu.ferretdb - a.cpu.ferretdb,
    postgresCpu: b.cpu.postgres - a.cpu.postgres,
  };
}

/** Rounds of each config, interleaved (the order alternates), and their medians; `site` adds cluster rounds. */
export async function ferretdbTuningRun({ distDir, outDir, rounds, ops, concurrency, site, configs = CONFIGS }) {
  const { openMongoTaskStore } = await import(pathToFileURL(path.join(distDir, 'models/mongo/mongo-task-store.js')).href);
  const names = Object.keys(configs);
  const services = [];
  try {
    // The first also brings the RabbitMQ (and S3) node the cluster rounds of all of them use.
    for (const [i, name] of names.entries()) services.push(await startStandIn(outDir, name, configs[name], Boolean(site) && i === 0));
    const amqpUrl = services[0].amqpUrl;
    const runs = Object.fromEntries(names.map((n) => [n, { store: [], cluster: [] }]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...services].reverse() : services;
      for (const svc of order) runs[svc.name].store.push(await storeRound(openMongoTaskStore, svc, r, { ops, concurrency }));
      if (site) for (const svc of order) runs[svc.name].cluster.push(await clusterRound(svc, { distDir, site, concurrency, outDir, amqpUrl }));
    }
    const summary = (xs) =>
      xs.length
        ? {
            perSec: median(xs.map((x) => x.images / x.seconds)),
            commandsPerImage: median(xs.map((x) => x.commands / x.images)),
            ferretdbUsPerCommand: median(xs.map((x) => (x.ferretdbCpu * 1e6) / x.commands)),
            postgresUsPerCommand: median(xs.map((x) => (x.postgresCpu * 1e6) / x.commands)),
            cpuMsPerImage: median(xs.map((x) => ((x.ferretdbCpu + x.postgresCpu) * 1000) / x.images)),
            rounds: xs.map((x) => ({ perSec: Number((x.images / x.seconds).toFixed(1)), cpuMsPerImage: Number((((x.ferretdbCpu + x.postgresCpu) * 1000) / x.images).toFixed(3)), load: x.load })),
          }
        : undefined;
    const result = { rounds, ops, concurrency, configs, load: os.loadavg()[0], names };
    for (const n of names) result[n] = { store: summary(runs[n].store), cluster: summary(runs[n].cluster) };
    return result;
  } finally {
    for (const svc of services) svc.stop();
  }
}

const f2 = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(2));
const f0 = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(0));

export function ferretdbTuningSection(T) {
  if (!T || T.error) return `Not measured${T?.error ? `: ${T.error}` : ''} (\`BENCH_ONLY=ferretdbtuning npm run bench\`).`;
  const lines = [
    `Two FerretDB v1.24.2 stand-ins on PostgreSQL side by side, measured interleaved over ${T.rounds} rounds (the first alternates); medians. *untuned* is the stand-in before issue 9's tuning (${Object.entries(UNTUNED).map(([k, v]) => `${k}=${v}`).join(', ')}), *tuned* is scripts/services.sh's defaults. CPU is FerretDB's and its PostgreSQL's (postmaster and backends) from /proc; commands are what FerretDB counted. Load average at the end: ${f2(T.load)}.`,
    '',
    '| stand-in | workload | images/s | commands per image | FerretDB µs CPU per command | PostgreSQL µs CPU per command | FerretDB + PostgreSQL ms CPU per image |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const w of ['store', 'cluster']) {
    for (const n of T.names) {
      const s = T[n][w];
      if (!s) continue;
      lines.push(`| ${n} | ${w === 'store' ? `store (${T.ops} images, ${T.concurrency} at a time)` : 'cluster job, 1 worker'} | ${f2(s.perSec)} | ${f2(s.commandsPerImage)} | ${f0(s.ferretdbUsPerCommand)} | ${f0(s.postgresUsPerCommand)} | **${f2(s.cpuMsPerImage)}** |`);
    }
  }
  const a = T.untuned;
  const b = T.tuned;
  if (a && b) {
    lines.push('');
    for (const w of ['store', 'cluster']) {
      if (!a[w] || !b[w]) continue;
      lines.push(`- ${w}: tuned ÷ untuned CPU per image **${f2(b[w].cpuMsPerImage / a[w].cpuMsPerImage)}×**, images/s ${f2(b[w].perSec / a[w].perSec)}×.`);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
  const configs = { ...CONFIGS };
  for (const c of opt('--config')) {
    const [name, ...rest] = c.split('=');
    configs[name] = Object.fromEntries(rest.join('=').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  }
  const { buildService } = await import('./lib/build.mjs');
  const build = buildService();
  const outDir = path.join(import.meta.dirname, 'out');
  let site;
  try {
    if (args.includes('--cluster')) {
      const { spawnFixtureSite } = await import('./fixture-site.mjs');
      site = await spawnFixtureSite({ pages: Number(process.env.BENCH_CLUSTER_PAGES ?? 80), imagesPerPage: 10, share: 0.3, imageBytes: 2048, pageBytes: 16_384, latencyMs: 0 });
    }
    const T = await ferretdbTuningRun({ distDir: build.distDir, outDir, rounds: Number(opt('--rounds')[0] ?? 4), ops: Number(process.env.BENCH_FERRETDB_OPS ?? 300), concurrency: Number(process.env.BENCH_FERRETDB_CONCURRENCY ?? 4), site, configs });
    fs.writeFileSync(path.join(outDir, 'ferretdb-tuning.json'), JSON.stringify(T, null, 2));
    console.log(ferretdbTuningSection(T));
  } finally {
    site?.stop();
    build.cleanup();
  }
}
