/** bench/RESULTS.md from the results object that run.mjs collects. */
import { DATASETS_HEADING, datasetsMarkdown } from './datasets.mjs';
import { CRAWL_HEADING, crawlMarkdown } from './crawl.mjs';
import { extractMarkdown } from './extract.mjs';
import { extractHeldOutMarkdown } from './extract-heldout.mjs';
import { opsMarkdown } from './ops.mjs';
import { hashesSection } from './hashes.mjs';
import { neardupSection } from './neardup.mjs';
import { ferretdbSection } from './ferretdb-backends.mjs';
import { ferretdbTuningSection } from './ferretdb-tuning.mjs';
import { scaleoutSection } from './scaleout.mjs';
const MB = (b) => (b / 2 ** 20).toFixed(0);
const f1 = (x) => (x == null || Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const f2 = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(2));
const ok = (r) => r && !r.skipped && !r.error;
const rate = (r, what) => (ok(r) ? r[what] / r.seconds : NaN);
const NAMES = { standalone: 'this service, standalone', standaloneBatch: 'this service, standalone, one `POST /batches`', raw: 'raw undici loop (upper bound)', crawlee: 'Crawlee CheerioCrawler', scrapy: 'Scrapy + ImagesPipeline' };
const ORDER = ['standalone', 'standaloneBatch', 'raw', 'crawlee', 'scrapy'];

function jobTable(job, what, expected) {
  const lines = [
    `| runner | ${what === 'images' ? 'images/s' : 'pages/s'} | wall s (runs) | CPU s | CPU ms per ${what === 'images' ? 'image' : 'page'} | peak RSS MB | stored (pages / images) | × raw | × Crawlee | × Scrapy |`,
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const k of ORDER) {
    const r = job[k];
    if (!ok(r)) {
      lines.push(`| ${NAMES[k]} | ${r?.skipped ? `skipped: ${r.skipped}` : `error: ${r?.error ?? 'not run'}`} | | | | | | | | |`);
      continue;
    }
    const v = rate(r, what);
    const count = what === 'images' ? r.images : r.pages;
    const stored = `${r.pages}/${expected.pages} · ${r.images}/${expected.images}${r.failedTasks ? ` · ${r.failedTasks} tasks failed` : ''}`;
    const vs = (p) => f2(v / rate(job[p], what));
    lines.push(
      `| ${NAMES[k]} | **${f1(v)}** | ${f2(r.seconds)} (${r.runs.map(f2).join(', ')}${r.failedRuns?.length ? `; ${r.failedRuns.length} run(s) failed: ${r.failedRuns[0]}` : ''}) | ${f2(r.cpuSeconds)} | ${f2((1000 * r.cpuSeconds) / count)} | ${MB(r.peakRss)} | ${stored} | ${vs('raw')} | ${vs('crawlee')} | ${vs('scrapy')} |`,
    );
  }
  return lines.join('\n');
}

function targets(R) {
  const t = [];
  const add = (name, measured, value, goal, cmp = '≥') => {
    const met = Number.isFinite(value) ? (cmp === '≥' ? value >= goal : value < goal) : undefined;
    t.push(`| ${name} | ${measured} | ${met === undefined ? 'not measured' : met ? '**met**' : '**missed**'} |`);
  };
  const ratio = (job, what, peer) => rate(R[job]?.standalone, what) / rate(R[job]?.[peer], what);
  add('pages/s ≥ 1.2× Crawlee (text job)', `${f2(ratio('textJob', 'pages', 'crawlee'))}×`, ratio('textJob', 'pages', 'crawlee'), 1.2);
  add('images/s ≥ 1.2× Crawlee (text + images job)', `${f2(ratio('fullJob', 'images', 'crawlee'))}×`, ratio('fullJob', 'images', 'crawlee'), 1.2);
  add('pages/s ≥ 0.8× raw undici (text job)', `${f2(ratio('textJob', 'pages', 'raw'))}×`, ratio('textJob', 'pages', 'raw'), 0.8);
  add('images/s ≥ 0.8× raw undici (text + images job)', `${f2(ratio('fullJob', 'images', 'raw'))}×`, ratio('fullJob', 'images', 'raw'), 0.8);
  // The same jobs submitted as one POST /batches, beside the targets (which are judged one POST per task, as before).
  const batched = (job, what) => rate(R[job]?.standaloneBatch, what) / rate(R[job]?.raw, what);
  if (Number.isFinite(batched('textJob', 'pages')) || Number.isFinite(batched('fullJob', 'images'))) {
    add('(beside it) the same, the tasks in one `POST /batches`: pages/s (text job), images/s (text + images job) ÷ raw undici', `${f2(batched('textJob', 'pages'))}×, ${f2(batched('fullJob', 'images'))}×`, Math.min(batched('textJob', 'pages'), batched('fullJob', 'images')), 0.8);
  }
  const c = R.cluster;
  const scaling = ok(c) ? rate(c.two, 'images') / rate(c.one, 'images') : NaN;
  add('cluster: 2 workers ≥ 1.7× one (CPU-bound job)', ok(c) ? `${f2(scaling)}×` : c?.skipped ?? c?.error ?? '', scaling, 1.7);
  const api = ok(R.api) ? R.api.ratio : NaN;
  add('API read ≥ 0.7× bare Express', ok(R.api) ? `${f2(api)}× (median ${f1(R.api.service.rps)} vs ${f1(R.api.express.rps)} req/s)` : R.api?.error ?? '', api, 0.7);
  // The median of the interleaved rounds' ratios in the first submission mode (one POST per task); the others beside it.
  const one = ok(c) ? (c.modes?.[0]?.ratio ?? (c.standalone && !c.standalone.error ? rate(c.one, 'images') / rate(c.standalone, 'images') : NaN)) : NaN;
  const otherModes = ok(c) ? (c.modes ?? []).slice(1).map((m) => `; ${submitName(m.submit)}: ${f2(m.ratio)}×`).join('') : '';
  add('cluster: 1 worker ≥ 0.5× standalone (issue 9)', Number.isFinite(one) ? `${f2(one)}×${c.modes ? ` (${submitName(c.modes[0].submit)}, median of ${c.rounds} interleaved rounds${otherModes})` : ''}` : c?.skipped ?? c?.error ?? '', one, 0.5);
  const so = R.scaleout;
  // The first WORKER_CONCURRENCY setting is the I/O-bound one the target is measured at (scaleout.mjs).
  const soSetting = so?.settings?.[0];
  const soRate = (n) => {
    const r = soSetting?.runs?.find((x) => x.workers === n && !x.error);
    return r ? r.images / r.seconds : NaN;
  };
  for (const [n, goal] of [[2, 1.8], [4, 3.4]]) {
    const x = soRate(n) / soRate(1);
    add(`scaleout at 100 ms latency, WORKER_CONCURRENCY=${soSetting?.workerConcurrency ?? '?'}: ${n} workers ≥ ${goal}× one (issue 9)`, Number.isFinite(x) ? `${f2(x)}×` : so?.skipped ?? so?.error ?? '', x, goal);
  }
  const h = R.extractHeldOut;
  add('main content F1 ≥ 0.96 on held-out articles (issue 11)', ok(h) ? `${h.ours.f1.toFixed(3)} (Readability ${h.readability.f1.toFixed(3)})` : h?.error ?? '', ok(h) ? h.ours.f1 : NaN, 0.96);
  const s = R.scale;
  add(
    `100k image URLs < 400 MB RSS${ok(s) && s.imageUrls < 100_000 ? ` (run at ${s.imageUrls} URLs only)` : ''}`,
    ok(s) ? `${MB(s.peakRss)} MB` : s?.error ?? '',
    ok(s) ? s.peakRss / 2 ** 20 : NaN,
    400,
    '<',
  );
  return ['| target (issue 5 unless named) | measured | |', '|---|---|---|', ...t].join('\n');
}

/** How a cluster job was submitted (bench/jobs.mjs `submit`). */
const submitName = (submit) => (submit === 'batch' ? 'one POST /batches' : submit === 'tasks' ? 'one POST per task' : submit);

function clusterSection(c) {
  if (!ok(c)) return `Skipped: ${c?.skipped ?? c?.error}`;
  const row = (name, r) =>
    `| ${name} | ${f1(rate(r, 'pages'))} | **${f1(rate(r, 'images'))}** | ${f2(r.seconds)} | ${f2(r.cpuSeconds)} | ${r.infraCpu ? `${f2(r.infraCpu.ferretdb)} / ${f2(r.infraCpu.rabbitmq)}` : 'n/a'} | ${MB(r.peakRss)} (${r.perProcessRss.map(MB).join(' + ')}) | ${r.pages} · ${r.images}${r.failedTasks ? ` · ${r.failedTasks} failed` : ''} |`;
  return [
    `Services: ${c.source}. ${c.pages} pages × ${c.imagesPerPage} images (${c.uniqueImages} distinct), text + images tasks, 1 API process; each worker WORKER_CONCURRENCY=4, PER_HOST_CONCURRENCY=${c.concurrency}.`,
    '',
    '| cluster | pages/s | images/s | wall s | CPU s (API + workers) | CPU s FerretDB / RabbitMQ | peak RSS MB (API + workers) | stored pages · images |',
    '|---|---:|---:|---:|---:|---:|---|---|',
    row('1 worker', c.one),
    row('2 workers', c.two),
    ...(c.standalone && !c.standalone.error ? [row('standalone, same job (baseline)', { ...c.standalone, perProcessRss: c.standalone.perProcessRss ?? [c.standalone.peakRss] })] : []),
    '',
    `2 workers / 1 worker: **${f2(rate(c.two, 'images') / rate(c.one, 'images'))}×** images/s.`,
    ...(c.modes
      ? [
          `1 worker / standalone, the same job in interleaved rounds (a 1-worker cluster run, then standalone), the median of the rounds' ratios (target ≥ 0.5×; the rows above are the target mode's median round):`,
          ...c.modes.map((m) => `- ${submitName(m.submit)}: **${f2(m.ratio)}×** images/s (rounds: ${m.ratios.map(f2).join(', ')}; median round ${f1(rate(m.one, 'images'))} vs ${f1(rate(m.standalone, 'images'))} img/s)`),
          '',
        ]
      : c.standalone && !c.standalone.error ? [`1 worker / standalone (same job, same run): **${f2(rate(c.one, 'images') / rate(c.standalone, 'images'))}×** images/s (target ≥ 0.5×).`] : []),
    // Cores in use on average over each run, by component (the machine has os.cpus() of them, all shared).
    ...[['1 worker', c.one], ['2 workers', c.two]].filter(([, r]) => r.infraCpu && r.otherCpu).map(([name, r]) =>
      `- ${name}: cores in use on average: FerretDB + PostgreSQL ${f2(r.infraCpu.ferretdb / r.seconds)}, API + workers ${f2(r.cpuSeconds / r.seconds)}, RabbitMQ ${f2(r.infraCpu.rabbitmq / r.seconds)}, fixture site ${f2(r.otherCpu.site / r.seconds)}, harness ${f2(r.otherCpu.harness / r.seconds)}.`),
    ...clusterCommands(c.one),
  ].join('\n');
}

/** The 1-worker run's MongoDB commands per task (a task is a page's text or images task), by process and kind. */
function clusterCommands(r) {
  const k = r.commands;
  if (!k) return [];
  const ferret = r.infraCpu ? ` FerretDB + PostgreSQL CPU: ${f1((r.infraCpu.ferretdb * 1000) / r.tasks)} ms per task, ${f2((r.infraCpu.ferretdb * 1000) / r.images)} ms per stored image.` : '';
  return [
    '',
    `1 worker, counted in a run of its own (the driver's command events cost the service's processes Node CPU the timed run above does not pay): **${f2(k.perTask)}** MongoDB commands per task (${r.tasks} tasks; the API's include the harness's polls, every 250 ms, and its listing of every task once all are final, which the CPU figures leave out: one \`$group\` per images task).${ferret} The kinds of at least 0.05 per task (\`{fields}\`: the filter; \`×n\`: several statements in one command):`,
    '',
    '| process | command | per task | ms each (round trip) |',
    '|---|---|---:|---:|',
    ...k.byKind.filter((x) => x.perTask >= 0.05).map((x) => `| ${x.role} | \`${x.kind}\` | ${f2(x.perTask)} | ${f1(x.msEach)} |`),
  ];
}

/** BENCH_ONLY=storeops (bench/store-ops.mjs). */
function storeOpsSection(o) {
  if (!ok(o)) return `Not measured${o?.error ? `: ${o.error}` : ''}.`;
  const modes = ['one by one', 'batched'].filter((m) => o.sqlite[m]);
  const sq = (m) => o.sqlite[m];
  const mg = (m) => o.mongo?.[m];
  return [
    `The store calls of images tasks (create, dispatch receipt, start, images, finish), ${o.pages} pages × ${o.imagesPerPage} images (30% from a pool earlier pages stored), ${o.concurrency} downloads at a time; counted at the driver. MongoDB: ${o.source}. "one by one" is the images runner before issue 9 item 2 (claim, complete, link per image; links cleared at every start); "batched" is the runner now (src/worker/image-batches.ts: claimImages a chunk ahead, settleImages of the completions and links that finish together).`,
    '',
    '| store path | SQLite statements / image | SQLite transactions / image | MongoDB commands / image | FerretDB + PostgreSQL CPU ms / image | images/s SQLite · MongoDB (store only) |',
    '|---|---:|---:|---:|---:|---|',
    ...modes.map((m) => `| ${m} | ${f2(sq(m).statementsPerImage)} | ${f2(sq(m).transactionsPerImage)} | ${mg(m) ? f2(mg(m).commandsPerImage) : 'n/a'} | ${mg(m)?.ferretCpuMsPerImage != null ? f2(mg(m).ferretCpuMsPerImage) : 'n/a'} | ${f1(sq(m).imagesPerSec)} · ${mg(m) ? f1(mg(m).imagesPerSec) : 'n/a'} |`),
    '',
    'The replay runs every call in one process, so the Mongo adapter\'s guesses from its own last writes (revision.ts) also spare the start\'s read, which a worker starting a task another process created does not have.',
  ].join('\n');
}

function apiSection(a) {
  if (!ok(a)) return `Error: ${a?.error}`;
  const row = (name, r) => `| ${name} | **${f1(r.rps)}** (${r.rounds.map(f1).join(', ')}) | ${r.cpuMsPerRequest.map(f2).join(' / ')} | ${r.p50} | ${r.p99} | ${r.errors} | ${MB(r.serverPeakRss)} |`;
  return [
    `autocannon ${a.connections} connections, ${a.seconds} s per server per round, ${a.rounds} interleaved rounds (the servers started once, warmed up 1 s; the first server rotates), from the harness process on the same machine. Ratios are medians of the per-round ratios.`,
    '',
    '| server | req/s median (each round) | server CPU ms per request (each round) | p50 ms | p99 ms | errors | server peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('`GET /text_tasks/:id`, standalone, default LOG_LEVEL=info', a.service),
    row('`GET /text_tasks/:id`, standalone, LOG_LEVEL=warn', a.serviceWarn),
    row('bare Express 5 hello-world (`res.json`)', a.express),
    '',
    `Ratio: **${f2(a.ratio)}×** bare Express (${f2(a.ratioWarn)}× with request logging off).`,
  ].join('\n');
}

function scaleSection(s, scale) {
  if (!ok(s)) return `Error: ${s?.error}`;
  const samples = s.rssSamples.map((b) => MB(b));
  return [
    `BENCH_SCALE=${scale}: ${s.pages} pages × ${s.imageUrls / s.pages} distinct 128-byte PNGs = **${s.imageUrls} image URLs**, images tasks only, standalone with its default configuration.`,
    '',
    '| image URLs | wall s | images/s | CPU s | peak RSS MB | stored | failed tasks |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${s.imageUrls} | ${f1(s.seconds)} | ${f1(s.images / s.seconds)} | ${f1(s.cpuSeconds)} | **${MB(s.peakRss)}** | ${s.images} | ${s.failedTasks} |`,
    '',
    `RSS every ${samples.length > 60 ? 'few ' : ''}second${samples.length > 60 ? 's' : ''} (MB): ${(samples.length > 60 ? samples.filter((_, i) => i % Math.ceil(samples.length / 60) === 0) : samples).join(' ')}`,
  ].join('\n');
}

function profileSection(p, what) {
  if (!ok(p)) return `Error: ${p?.error ?? 'not run'}`;
  // Worker threads that only waited for work (e.g. the parse pool during API reads) are left out.
  return [
    `Profiles: ${p.files.map((f) => `\`${f}\``).join(', ')} (${what}). Self time summed by function + script by bench/cpuprofile-summary.mjs; "inclusive" follows the sampled stacks, so time after an \`await\` is not counted for the caller.`,
    '',
    '### main thread',
    '',
    p.markdown,
    ...(p.workersMarkdown && p.workerOrigins.some((o) => o.key !== '(idle)' && o.share > 0.01) ? ['', `### worker threads (${p.workerThreads}, summed: the HTML parsing pool)`, '', p.workersMarkdown] : []),
  ].join('\n');
}

/** The cluster's API + worker beside standalone on one job, CPU per task by process and by package (bench/cluster-cpu.mjs). */
function clusterProfileSection(r) {
  if (!ok(r)) return r?.skipped ?? `Error: ${r?.error ?? 'not run'}`;
  const { cluster: c, standalone: s } = r;
  const perTask = (p, tasks) => new Map(p.origins.filter((o) => o.key !== '(idle)').map((o) => [o.key, o.ms / tasks]));
  const api = perTask(c.profiles.api, c.tasks);
  const worker = perTask(c.profiles.worker, c.tasks);
  const alone = perTask(s.profiles.standalone, s.tasks);
  const keys = [...new Set([...api.keys(), ...worker.keys(), ...alone.keys()])];
  const extra = (k) => (api.get(k) ?? 0) + (worker.get(k) ?? 0) - (alone.get(k) ?? 0);
  const top = keys.sort((a, b) => Math.abs(extra(b)) - Math.abs(extra(a))).slice(0, 14);
  const ms = (m, k) => f2(m.get(k) ?? 0);
  const busy = (p, tasks) => f2(p.busyMs / tasks);
  return [
    `${c.tasks} tasks (a text and an images task per page, one POST each), 1 API + 1 worker, then standalone on the same site; load average ${f1(r.load)} at the end. CPU ms per task from /proc over the job (utime + stime; in brackets stime), under the profiler (which adds its own cost). The sampled times below are wall time between samples, so on a loaded machine they include time spent waiting for a core (e.g. a socket write that wakes FerretDB): read them as shares, the /proc row as CPU:`,
    '',
    '| | API | worker | API + worker | standalone |',
    '|---|---:|---:|---:|---:|',
    `| CPU ms per task | ${f1(c.msPerTask.api)} (${f1(c.sysMsPerTask.api)}) | ${f1(c.msPerTask.worker)} (${f1(c.sysMsPerTask.worker)}) | **${f1(c.msPerTask.total)}** | **${f1(s.msPerTask.total)}** (${f1(s.sysMsPerTask.standalone)}) |`,
    `| sampled busy ms per task (main thread) | ${busy(c.profiles.api, c.tasks)} | ${busy(c.profiles.worker, c.tasks)} | ${f2((c.profiles.api.busyMs + c.profiles.worker.busyMs) / c.tasks)} | ${busy(s.profiles.standalone, s.tasks)} |`,
    '',
    'Self time per task by package or file (native frames counted for their caller; main threads), the largest differences between the cluster and standalone first:',
    '',
    '| package / file | API ms/task | worker ms/task | standalone ms/task | cluster − standalone |',
    '|---|---:|---:|---:|---:|',
    ...top.map((k) => `| ${k} | ${ms(api, k)} | ${ms(worker, k)} | ${ms(alone, k)} | ${extra(k) >= 0 ? '+' : ''}${f2(extra(k))} |`),
    '',
    `Profiles: ${[...c.profiles.api.files, ...c.profiles.worker.files, ...s.profiles.standalone.files].map((f) => `\`${f}\``).join(', ')}.`,
    '',
    '<details><summary>the worker process in detail</summary>',
    '',
    c.profiles.worker.markdown,
    '',
    '</details>',
  ].join('\n');
}

export function resultsMarkdown(R) {
  const p = R.params;
  const exp = (plan) => ({ pages: plan.pages, images: plan.uniqueImages });
  return `# Benchmark results (issue 5)

Written by \`npm run bench\` (bench/run.mjs) on ${R.startedAt}; the whole run took **${f1(R.durationSec / 60)} min**. Re-run to reproduce; every size is an env variable (bench/README.md).
${R.warnings.length ? `\n${R.warnings.map((w) => `> ${w}`).join('\n>\n')}\n` : ''}
## Machine, versions, parameters
- Machine: ${R.machine.nproc} CPUs (${R.machine.cpu}), ${R.machine.memGiB} GiB RAM, Linux ${R.machine.kernel}. Load average before / after: ${R.machine.loadStart} / ${R.machine.loadEnd} (a shared machine: other people's test runs add noise).
- Versions: ${Object.entries(R.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.
- Fixture site (own process, 127.0.0.1): ${p.site.pages} pages of ~${Math.round(p.site.pageBytes / 1024)} KiB HTML × ${p.site.imagesPerPage} images (PNG, ${p.site.imageBytes} B), share ${p.site.share} of each page's images from a common pool → ${R.plan.uniqueImages} distinct images, ${R.plan.imageRefs} references; latency ${p.site.latencyMs} ms.
- Concurrency ${p.concurrency} requests in flight to the site for every runner: the service's PER_HOST_CONCURRENCY (default 4; WORKER_CONCURRENCY 4, IMAGE_CONCURRENCY 8 as default), Crawlee min = maxConcurrency, Scrapy CONCURRENT_REQUESTS(_PER_DOMAIN), the raw loop's semaphore and undici connections. Repeats: ${p.repeat}, the run with the median wall time is shown (all wall times in brackets).
- What is timed: from the first request of the job to the last file stored (the service: first \`POST\` to the latest \`finished_at\` of the job's tasks, which it sets once their files are stored, read once after the job; ms precision, the same machine's clock, so the poll interval does not count). CPU seconds: utime + stime from /proc/<pid>/stat, for the runner's process(es) only (not the fixture site, not the harness), from the first \`POST\` to the poll that finds nothing queued or running: that is up to one poll interval (250 ms) after the last finish, a tail in which the service only answers that poll and (in cluster mode) acks its last messages and deletes its spent revision tickets. Peak RSS: VmHWM from /proc/<pid>/status, summed over processes.

## Targets
${targets(R)}

## Text + images job (text of every page and every distinct image on disk)
The service gets a text task and an images task per page (as a user does), one \`POST\` per task 8 at a time, or in the \`POST /batches\` row all of them in one request (as a user with a list of URLs would, and as the peers get their list); both tasks of a page share one fetch and parse (page reuse, PAGE_REUSE_MS); the peers fetch each page once too. Images/s counts distinct images stored; pages/s is pages ÷ the same wall time, so its ratios equal these.

${jobTable(R.fullJob, 'images', exp(R.plan))}

## Text-only job (pages/s)
${jobTable(R.textJob, 'pages', { pages: R.plan.pages, images: 0 })}

## Cluster mode (1 API + 1 or 2 workers, MongoDB wire protocol + RabbitMQ)
${clusterSection(R.cluster)}

## Where the cluster's Node CPU goes, against standalone (\`node --cpu-prof\`, \`BENCH_ONLY=clusterprofile\`, issue 9)
${clusterProfileSection(R.clusterProfile)}

## Horizontal scale on an I/O-bound job (\`BENCH_ONLY=scaleout\`, issue 9)
${scaleoutSection(R.scaleout)}

## Store operations per image (\`BENCH_ONLY=storeops\`)
${storeOpsSection(R.storeOps)}

## MongoDB stand-in: FerretDB v1 on PostgreSQL vs on SQLite (\`BENCH_ONLY=ferretdb\`)
${ferretdbSection(R.ferretdb)}

## MongoDB stand-in: its settings, tuned vs untuned (\`BENCH_ONLY=ferretdbtuning\`, issue 9)
${ferretdbTuningSection(R.ferretdbTuning)}

## API read throughput
${apiSection(R.api)}

## Shared service: API keys, rate limits, /metrics, usage stats
${opsMarkdown(R.ops)}

## Scale: image URLs on the standalone default
${scaleSection(R.scale, p.scale)}

## Dataset-quality extras: perceptual hash, resizing, SimHash, rights (\`BENCH_ONLY=hashes\`)
${hashesSection(R.hashes)}

## Near-duplicates in exports: multi-index hashing vs pairwise (\`BENCH_ONLY=neardup\`)
${neardupSection(R.neardup)}

## Where the standalone service spends its CPU (\`node --cpu-prof\`, text + images job)
${profileSection(R.profile, `the job ran ${f2(R.profile?.seconds)} s under the profiler; only samples from the first POST to the poll that finds every task final are counted, so start-up is not`)}

## Where the API read spends its CPU (\`node --cpu-prof\`, \`GET /text_tasks/:id\` under autocannon)
${profileSection(R.apiProfile, `${f1(R.apiProfile?.rps)} req/s for ${R.apiProfile?.seconds} s under the profiler; only samples taken during that measured autocannon run are counted`)}

${DATASETS_HEADING}
${datasetsMarkdown(R.datasets)}
${CRAWL_HEADING}
${crawlMarkdown(R.crawl)}

## Main-content extraction on held-out articles (issue 11's F1 bar)
${extractHeldOutMarkdown(R.extractHeldOut)}

## Main-content extraction on the dev set (issue 11: the \`main\` text format)
${extractMarkdown(R.extract)}

## Notes
${R.notes.map((n) => `- ${n}`).join('\n')}
`;
}
