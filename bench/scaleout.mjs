/**
 * Horizontal scale on an I/O-bound job (issue 9): the fixture site answers every request after
 * BENCH_SCALEOUT_LATENCY_MS (100), and the cluster runs 1, 2, then 4 workers, each with enough per-host slots
 * that the site's latency, not a limiter, sets its pace. Ratios are against 1 worker in the same run.
 */
import path from 'node:path';
import { spawnFixtureSite } from './fixture-site.mjs';
import { runCluster } from './jobs.mjs';
import { clusterServices } from './lib/services.mjs';

const f1 = (x) => (x == null || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const f2 = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(2));
const MB = (b) => (b / 2 ** 20).toFixed(0);

/** The page requests the fixture site served since the last call (it counts them; `?reset=1` zeroes the count). */
async function takePageRequests(site) {
  const res = await fetch(`${site.base}/__stats?reset=1`);
  return (await res.json()).pageRequests;
}

export async function scaleoutRun({ distDir, outDir, pages, imagesPerPage, latencyMs, workerCounts, workerConcurrency, perHost, submit, log }) {
  const services = clusterServices(outDir);
  if (services.unavailable) return { skipped: `no MONGO_URL/AMQP_URL: ${services.unavailable}` };
  const site = await spawnFixtureSite({ pages, imagesPerPage, share: 0, latencyMs });
  const env = { WORKER_CONCURRENCY: String(workerConcurrency), PER_HOST_CONCURRENCY: String(perHost) };
  try {
    const runs = [];
    for (const workers of workerCounts) {
      log?.(`scaleout: ${workers} worker(s)`);
      // Polled at most every 2 s (1% of these runs' length): the harness's list queries are store work too.
      try {
        await takePageRequests(site);
        const r = await runCluster({ distDir, site, concurrency: perHost, outDir: path.join(outDir, 'scaleout'), workers, services, env, job: { pollMaxMs: 2000, submit } });
        // Pages fetched per page: 1 when each page's text and images tasks share one fetch, 2 when they never do.
        runs.push({ workers, ...r, pageFetchesPerPage: (await takePageRequests(site)) / pages });
      } catch (err) {
        // One cluster size failing (e.g. a start-up timeout on a loaded machine) keeps the others' figures.
        runs.push({ workers, error: String(err.message ?? err).split('\n')[0] });
      }
    }
    return { source: services.source, pages, imagesPerPage, uniqueImages: site.plan.uniqueImages, latencyMs, workerConcurrency, perHost, submit, runs };
  } finally {
    site.stop();
    services.stop();
  }
}

const rate = (r) => r.images / r.seconds;

export function scaleoutSection(S) {
  if (!S) return 'Not measured in this run (`BENCH_ONLY=scaleout`).';
  if (S.skipped || S.error) return `Skipped: ${S.skipped ?? S.error}`;
  const one = S.runs.find((r) => r.workers === 1 && !r.error);
  const row = (r) =>
    r.error ? `| ${r.workers} | error: ${r.error} | | | | | | | | |` : `| ${r.workers} | ${f1(r.pages / r.seconds)} | **${f1(rate(r))}** | ${one ? `**${f2(rate(r) / rate(one))}×**` : '—'} | ${f2(r.seconds)} (submit ${f2(r.submitSeconds)}) | ${f2(r.cpuSeconds)} | ${r.infraCpu ? `${f2(r.infraCpu.ferretdb)} / ${f2(r.infraCpu.rabbitmq)}` : 'n/a'} | ${f2(r.pageFetchesPerPage)} | ${MB(r.peakRss)} | ${r.pages} · ${r.images}${r.failedTasks ? ` · ${r.failedTasks} failed` : ''} |`;
  return [
    `Services: ${S.source}. The site answers every request after **${S.latencyMs} ms**; ${S.pages} pages × ${S.imagesPerPage} images (${S.uniqueImages} distinct), a text and an images task per page, ${S.submit === 'batch' ? 'submitted in one `POST /batches`' : 'submitted one `POST` per task, 8 at a time'}, 1 API process; each worker WORKER_CONCURRENCY=${S.workerConcurrency}, PER_HOST_CONCURRENCY=${S.perHost} (enough that the latency, not the limiter, sets each worker's pace). Targets: 2 workers ≥ 1.8× one, 4 ≥ 3.4×.`,
    '',
    '| workers | pages/s | images/s | × 1 worker | wall s | CPU s (API + workers) | CPU s FerretDB / RabbitMQ | page fetches / page | peak RSS MB | stored pages · images |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...S.runs.map(row),
    '',
    ...S.runs.filter((r) => !r.error && r.infraCpu).map((r) => `- ${r.workers} worker(s): FerretDB used ${f2(r.infraCpu.ferretdb / r.seconds)} of a core on average, the API + workers ${f2(r.cpuSeconds / r.seconds)}, RabbitMQ ${f2(r.infraCpu.rabbitmq / r.seconds)}${r.otherCpu ? `, the fixture site ${f2(r.otherCpu.site / r.seconds)}, the harness ${f2(r.otherCpu.harness / r.seconds)}` : ''}; per task ${f1((1000 * r.cpuSeconds) / (2 * S.pages))} ms API + workers and ${f1((1000 * r.infraCpu.ferretdb) / (2 * S.pages))} ms FerretDB; submitting the ${2 * S.pages} tasks took ${f2(r.submitSeconds)} s of the ${f2(r.seconds)} s.`),
  ].join('\n');
}
