/**
 * Node CPU per task in cluster mode (issue 9): the cluster job (API + 1 worker, text + images task per page)
 * beside the same job standalone, CPU ms per task of each process, optionally with --cpu-prof summaries.
 *
 * CLI (services from MONGO_URL/AMQP_URL, e.g. `source .services/env`):
 *   node bench/cluster-cpu.mjs [--rounds N] [--profile] [--dist DIR]…
 * Several --dist builds (e.g. main's and a branch's) run interleaved, round by round, so load on a shared
 * machine falls on each alike. Without --dist the working tree is built. The run.mjs `clusterprofile`
 * section is one profiled round of the working tree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, summarise, summaryMarkdown } from './cpuprofile-summary.mjs';
import { spawnFixtureSite } from './fixture-site.mjs';
import { buildService } from './lib/build.mjs';
import { cpuSeconds, sum } from './lib/proc.mjs';
import { repoRoot } from './lib/root-deps.mjs';
import { clusterServices } from './lib/services.mjs';
import { measureService, runApiJob, startCluster, startStandalone } from './runners/service.mjs';

/** Kernel-mode CPU seconds of a live process (stime): syscalls, and on loopback the socket traffic of both ends. */
function sysSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / 100;
}

/** One job on a started service: CPU seconds by role (from /proc over the job), and where `profileDir` is set, each process's profile summary. */
async function measured(svc, roles, site, profileDir) {
  const pids = svc.procs.map((c) => c.pid);
  const cpu0 = pids.map(cpuSeconds);
  const sys0 = pids.map(sysSeconds);
  let cpu1, sys1;
  const r = await measureService(svc, () => runApiJob(svc.url, site.base, site.plan.pagePaths, { onFinished: () => ((cpu1 = pids.map(cpuSeconds)), (sys1 = pids.map(sysSeconds))) }));
  await svc.stop();
  const byRole = Object.fromEntries(roles.map((role, i) => [role, cpu1[i] - cpu0[i]]));
  const out = { seconds: r.seconds, submitSeconds: r.submitSeconds, tasks: r.tasks, failedTasks: r.failedTasks, images: r.images, cpu: byRole, msPerTask: Object.fromEntries(Object.entries(byRole).map(([k, s]) => [k, (s * 1000) / r.tasks])) };
  out.msPerTask.total = (sum(Object.values(byRole)) * 1000) / r.tasks;
  out.sysMsPerTask = Object.fromEntries(roles.map((role, i) => [role, ((sys1[i] - sys0[i]) * 1000) / r.tasks]));
  if (profileDir) {
    const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    out.profiles = Object.fromEntries(
      roles.map((role, i) => {
        // The main thread: the parse pool's threads are alike in both modes.
        const main = files.filter((f) => f.includes(`.${pids[i]}.`) && isMainThread(f)).map((f) => path.join(profileDir, f));
        const s = summarise(main.map((f) => JSON.parse(fs.readFileSync(f, 'utf8'))), r.window);
        const busyMs = s.origins.filter((o) => o.key !== '(idle)').reduce((n, o) => n + o.ms, 0);
        return [role, { files: main.map((f) => path.relative(repoRoot, f)), busyMs, origins: s.origins.map((o) => ({ key: o.key, ms: o.ms })), markdown: summaryMarkdown(main, 15, r.window) }];
      }),
    );
  }
  return out;
}

/** One round: the cluster (API + 1 worker) and then standalone, on one site, with build `distDir`. */
export async function clusterCpuRound({ distDir, site, concurrency, services, outDir, profile = false }) {
  const fresh = (d) => (fs.rmSync(d, { recursive: true, force: true }), fs.mkdirSync(d, { recursive: true }), d);
  const profArgs = (d) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${fresh(d)}`] : []);
  const env = { PER_HOST_CONCURRENCY: String(concurrency) };
  const cdir = fresh(path.join(outDir, 'cluster'));
  const cluster = await startCluster({ distDir, dataDir: path.join(cdir, 'data'), logDir: cdir, workers: 1, mongoUrl: services.mongoUrl, amqpUrl: services.amqpUrl, env, nodeArgs: profArgs(path.join(outDir, 'cluster-prof')) });
  const c = await measured(cluster, ['api', 'worker'], site, profile && path.join(outDir, 'cluster-prof'));
  const sdir = fresh(path.join(outDir, 'standalone'));
  const standalone = await startStandalone({ distDir, dataDir: path.join(sdir, 'data'), logDir: sdir, env, nodeArgs: profArgs(path.join(outDir, 'standalone-prof')) });
  const s = await measured(standalone, ['standalone'], site, profile && path.join(outDir, 'standalone-prof'));
  return { cluster: c, standalone: s, load: os.loadavg()[0] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
  const rounds = Number(opt('--rounds')[0] ?? 1);
  const profile = args.includes('--profile');
  const builds = opt('--dist').length ? opt('--dist').map((d) => ({ distDir: path.resolve(d), cleanup: () => {} })) : [buildService()];
  const outDir = path.join(import.meta.dirname, 'out', 'cluster-cpu');
  const services = clusterServices(outDir);
  if (services.unavailable) throw new Error(services.unavailable);
  const site = await spawnFixtureSite({ pages: Number(process.env.BENCH_CLUSTER_PAGES ?? 80), imagesPerPage: 10, share: 0.3, imageBytes: 2048, pageBytes: 16_384, latencyMs: 0 });
  const f = (x) => x.toFixed(1);
  try {
    for (let i = 0; i < rounds; i++) {
      // Alternate which build goes first.
      const order = i % 2 ? [...builds].reverse() : builds;
      for (const b of order) {
        const r = await clusterCpuRound({ distDir: b.distDir, site, concurrency: 4, services, outDir: path.join(outDir, String(builds.indexOf(b))), profile });
        const { cluster: c, standalone: s } = r;
        const ratio = c.images / c.seconds / (s.images / s.seconds);
        console.log(
          `${b.distDir} round ${i + 1} load ${f(r.load)}: cluster ${f(c.seconds)} s (submitted in ${f(c.submitSeconds)} s), ms/task api ${f(c.msPerTask.api)} worker ${f(c.msPerTask.worker)} total ${f(c.msPerTask.total)} | standalone ${f(s.seconds)} s (submitted in ${f(s.submitSeconds)} s), ${f(s.msPerTask.total)} ms/task | sys ms/task ${Object.entries({ ...c.sysMsPerTask, ...s.sysMsPerTask }).map(([k, v]) => `${k} ${f(v)}`).join(' ')} | images/s ratio ${ratio.toFixed(2)} (failed ${c.failedTasks}/${s.failedTasks})`,
        );
        if (profile) fs.writeFileSync(path.join(outDir, String(builds.indexOf(b)), 'profile.json'), JSON.stringify(r, null, 1));
      }
    }
  } finally {
    site.stop();
    services.stop();
    for (const b of builds) b.cleanup();
  }
}
