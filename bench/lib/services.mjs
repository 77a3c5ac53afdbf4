/**
 * MongoDB (FerretDB) and RabbitMQ for the cluster runs. MONGO_URL and AMQP_URL from the environment win;
 * otherwise the project's scripts/services.sh starts a private pair in bench/out/services (its own state dir
 * and RabbitMQ node name, so the shared test services are neither used nor stopped), stopped at the end.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cpuSeconds, postgresCpuSeconds } from './proc.mjs';
import { repoRoot } from './root-deps.mjs';

export function clusterServices(outDir) {
  if (process.env.MONGO_URL && process.env.AMQP_URL) {
    // Services started by scripts/services.sh (SERVICES_DIR, default ./.services) can still be measured.
    const own = path.resolve(repoRoot, process.env.SERVICES_DIR ?? '.services');
    const mine = fs.existsSync(path.join(own, 'env')) && fs.readFileSync(path.join(own, 'env'), 'utf8').includes(process.env.MONGO_URL);
    return { mongoUrl: process.env.MONGO_URL, amqpUrl: process.env.AMQP_URL, source: `MONGO_URL/AMQP_URL from the environment${mine ? ` (scripts/services.sh in ${path.relative(repoRoot, own) || '.'}, FerretDB on ${readBackend(own)})` : ''}`, infraCpu: mine ? infraCpuOf(own) : () => undefined, stop: () => {} };
  }
  const dir = path.join(outDir, 'services');
  // FerretDB on PostgreSQL: the faster backend in the ferretdb section (RESULTS.md); FERRETDB_BACKEND=sqlite overrides.
  // BENCH_RABBIT_NODE: another name when several people bench on one machine (one RabbitMQ node per name).
  const env = { FERRETDB_BACKEND: 'postgresql', ...process.env, SERVICES_DIR: dir, SERVICES_RABBIT_NODE: process.env.BENCH_RABBIT_NODE || 'scrapeds-bench@localhost' };
  const script = path.join(repoRoot, 'scripts/services.sh');
  const run = (cmd) => spawnSync(script, [cmd], { cwd: repoRoot, env, encoding: 'utf8', timeout: 900_000 });
  for (const cmd of ['install', 'start']) {
    const r = run(cmd);
    if (r.status !== 0) {
      run('stop');
      return { unavailable: `scripts/services.sh ${cmd} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' / ')}` };
    }
  }
  const vars = Object.fromEntries([...fs.readFileSync(path.join(dir, 'env'), 'utf8').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return {
    mongoUrl: vars.MONGO_URL,
    amqpUrl: vars.AMQP_URL,
    source: `private FerretDB v1 (on ${env.FERRETDB_BACKEND}${env.FERRETDB_BACKEND === 'postgresql' ? ", with scripts/services.sh's stand-in tuning: see the ferretdbtuning section" : ''}) + RabbitMQ started by scripts/services.sh for this run`,
    // FerretDB's CPU includes its PostgreSQL (postmaster and backends) when that is the backend.
    infraCpu: infraCpuOf(dir),
    stop: () => run('stop'),
  };
}

/** FerretDB's (+ its PostgreSQL's) and RabbitMQ's CPU seconds so far, for services.sh's state dir `dir`. */
function infraCpuOf(dir) {
  const pidOf = (f) => Number(fs.readFileSync(path.join(dir, f), 'utf8').trim());
  return () => ({ ferretdb: cpuSeconds(pidOf('ferretdb/pid')) + postgresCpuSeconds(dir), rabbitmq: cpuSeconds(pidOf('rabbitmq/rabbitmq.pid')) });
}

function readBackend(dir) {
  try {
    return fs.readFileSync(path.join(dir, 'ferretdb/backend'), 'utf8').trim();
  } catch {
    return 'an unknown backend';
  }
}
