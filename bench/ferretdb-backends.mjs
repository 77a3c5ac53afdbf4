/**
 * BENCH_ONLY=ferretdb: FerretDB v1 on PostgreSQL against FerretDB v1 on SQLite, the two MongoDB stand-ins
 * scripts/services.sh can start (FERRETDB_BACKEND). Both run side by side, each in its own state dir under
 * bench/out, and are measured interleaved (A B A B …) so a busy minute on a shared machine hits both alike;
 * what matters is the ratio, not the absolute speed.
 * - store: the image path a worker takes per image, claimImage + completeImage + linkImage, through the
 *   service's own MongoTaskStore, BENCH_FERRETDB_OPS images per round, BENCH_FERRETDB_CONCURRENCY at a time.
 * - suite (BENCH_FERRETDB_SUITE=1): wall time of the Mongo contract suite (jest) against each backend.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuSeconds, postgresCpuSeconds } from './lib/proc.mjs';
import { repoRoot, rootRequire } from './lib/root-deps.mjs';

export const BACKENDS = ['postgresql', 'sqlite'];
const script = path.join(repoRoot, 'scripts/services.sh');
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];

/** FerretDB alone (no RabbitMQ) on `backend`, in its own state dir; stop() stops it (and its PostgreSQL). */
function startFerretdb(outDir, backend) {
  const env = { ...process.env, SERVICES_DIR: path.join(outDir, `ferretdb-${backend}`), FERRETDB_BACKEND: backend };
  const run = (...args) => spawnSync(script, args, { cwd: repoRoot, env, encoding: 'utf8', timeout: 300_000 });
  const r = run('start', 'ferretdb');
  if (r.status !== 0) {
    run('stop');
    throw new Error(`scripts/services.sh start ferretdb (${backend}) failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  }
  const url = /^export MONGO_URL=(.*)$/m.exec(fs.readFileSync(path.join(env.SERVICES_DIR, 'env'), 'utf8'))[1];
  const pid = Number(fs.readFileSync(path.join(env.SERVICES_DIR, 'ferretdb/pid'), 'utf8'));
  return { backend, url, pid, dir: env.SERVICES_DIR, stop: () => run('stop') };
}

/**
 * One round of the image path a worker takes per image, on a fresh database of `url` (dropped after):
 * `ops` images, claimImage + completeImage + linkImage through the service's MongoTaskStore, `concurrency`
 * at a time. `meter(run)` wraps the images alone (not the task's creation or the check after) and returns the round's figures.
 */
export async function imagePathRound(openStore, url, round, { ops, concurrency }, meter) {
  const dbName = `bench_ferretdb_${process.pid}_${round}`;
  const store = await openStore(url, { dbName });
  try {
    const task = await store.createTask({ kind: 'images', url: `http://127.0.0.1/p/${round}.html`, refresh: false });
    const file = { sha256: 'a'.repeat(64), key: `images/aa/${'a'.repeat(64)}.png`, mime: 'image/png', bytes: 2048, width: 32, height: 32 };
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < ops; i = next++) {
        const sourceUrl = `http://127.0.0.1/img/${round}/${i}.png`;
        const claim = await store.claimImage(sourceUrl, { taskId: task.id, staleAfterMs: 60_000 });
        if (claim.outcome !== 'claimed') throw new Error(`claim of a new URL gave ${claim.outcome}`);
        await store.completeImage(claim.image.id, task.id, { status: 'stored', file });
        await store.linkImage({ taskId: task.id, position: i, sourceUrl, imageId: claim.image.id, outcome: 'stored' });
      }
    };
    const result = await meter(() => Promise.all(Array.from({ length: concurrency }, lane)));
    const counts = await store.imageCounts(task.id);
    if (counts.stored !== ops) throw new Error(`expected ${ops} stored links, counted ${JSON.stringify(counts)}`);
    return result;
  } finally {
    await store.close();
    const conn = await rootRequire('mongoose').createConnection(url).asPromise();
    await conn.useDb(dbName, { useCache: false }).dropDatabase();
    await conn.close();
  }
}

function storeRound(openStore, svc, round, opts) {
  return imagePathRound(openStore, svc.url, round, opts, async (run) => {
    const cpu = () => cpuSeconds(svc.pid) + postgresCpuSeconds(svc.dir);
    const cpu0 = cpu();
    const t0 = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { opsPerSec: opts.ops / seconds, cpuPerOpMs: ((cpu() - cpu0) * 1000) / opts.ops };
  });
}

function suiteRound(svc) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(path.join(repoRoot, 'node_modules/.bin/jest'), ['--ci', 'test/contract/task-store.mongo.test.ts'], {
    cwd: repoRoot,
    env: { ...process.env, MONGO_URL: svc.url, CI: 'true', NODE_OPTIONS: '--experimental-vm-modules' },
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const summary = /Tests:\s+(.*)/.exec(r.stderr)?.[1] ?? `exit ${r.status}`;
  return { seconds, passed: r.status === 0, summary };
}

export async function ferretdbBackendsRun({ distDir, outDir, rounds, ops, concurrency, suite }) {
  const { openMongoTaskStore } = await import(pathToFileURL(path.join(distDir, 'models/mongo/mongo-task-store.js')).href);
  const services = [];
  try {
    for (const b of BACKENDS) services.push(startFerretdb(outDir, b));
    const store = Object.fromEntries(BACKENDS.map((b) => [b, []]));
    const suites = Object.fromEntries(BACKENDS.map((b) => [b, []]));
    for (let r = 0; r < rounds; r++) {
      // Alternate which backend goes first, so neither always gets the warmer (or quieter) slot.
      const order = r % 2 ? [...services].reverse() : services;
      for (const svc of order) store[svc.backend].push(await storeRound(openMongoTaskStore, svc, r, { ops, concurrency }));
      if (suite) for (const svc of order) suites[svc.backend].push(suiteRound(svc));
    }
    const summary = (b) => ({
      opsPerSec: median(store[b].map((x) => x.opsPerSec)),
      cpuPerOpMs: median(store[b].map((x) => x.cpuPerOpMs)),
      rounds: store[b].map((x) => Number(x.opsPerSec.toFixed(1))),
      suiteSeconds: suite ? median(suites[b].map((x) => x.seconds)) : undefined,
      suiteRuns: suite ? suites[b].map((x) => ({ seconds: Number(x.seconds.toFixed(1)), passed: x.passed, summary: x.summary })) : undefined,
    });
    return { rounds, ops, concurrency, ...Object.fromEntries(BACKENDS.map((b) => [b, summary(b)])) };
  } finally {
    for (const svc of services) svc.stop();
  }
}

const f2 = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(2));

export function ferretdbSection(F) {
  if (!F || F.error) return `Not measured${F?.error ? `: ${F.error}` : ''} (\`BENCH_ONLY=ferretdb npm run bench\`).`;
  const pg = F.postgresql;
  const sq = F.sqlite;
  const lines = [
    `Both FerretDB v1.24.2 instances run side by side and are measured interleaved, ${F.rounds} rounds (the first backend alternates); medians, and × is PostgreSQL against SQLite in the same run. Store: ${F.ops} images per round, ${F.concurrency} at a time, each claimImage + completeImage + linkImage through the service's MongoTaskStore; CPU is FerretDB's (+ PostgreSQL's postmaster and backends) per image.`,
    '',
    '| backend | store images/s (rounds) | CPU ms per image | Mongo contract suite s (runs) |',
    '|---|---:|---:|---:|',
  ];
  for (const [name, r] of [['PostgreSQL 15 (Debian), fsync off, with services.sh\'s stand-in tuning (Unix socket, GOGC, GOMAXPROCS)', pg], ['SQLite (FerretDB built-in; Go defaults)', sq]]) {
    const failed = r.suiteRuns?.find((x) => !x.passed);
    const suite = r.suiteRuns ? `${f2(r.suiteSeconds)} (${r.suiteRuns.map((x) => `${x.seconds}${x.passed ? '' : ' ✗'}`).join(', ')})${failed ? ` ✗ ${failed.summary}` : ''}` : 'not run';
    lines.push(`| ${name} | **${f2(r.opsPerSec)}** (${r.rounds.join(', ')}) | ${f2(r.cpuPerOpMs)} | ${suite} |`);
  }
  lines.push(
    '',
    `Per round, PostgreSQL ÷ SQLite store throughput: ${pg.rounds.map((x, i) => f2(x / sq.rounds[i])).join(', ')}.`,
    '',
    `PostgreSQL ÷ SQLite: store throughput **${f2(pg.opsPerSec / sq.opsPerSec)}×**, CPU per image ${f2(pg.cpuPerOpMs / sq.cpuPerOpMs)}×${pg.suiteSeconds ? `, suite wall time ${f2(pg.suiteSeconds / sq.suiteSeconds)}×` : ''}.`,
  );
  return lines.join('\n');
}
