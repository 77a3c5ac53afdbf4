/** The notes under RESULTS.md: how each runner was set up, and what the figures say, computed from them. */
const ok = (r) => r && !r.skipped && !r.error;
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const pct = (x) => `${(100 * x).toFixed(0)}%`;

export function notes(R) {
  const n = [];
  const s = R.fullJob?.standalone;
  const raw = R.fullJob?.raw;
  if (ok(s)) {
    n.push(
      `Standalone, text + images job: ${f2(s.cpuSeconds / s.seconds)} CPU-seconds per wall second in the service process (1.00 = one core busy; Node runs the API, the worker and SQLite on one thread, so near 1 means it is CPU-bound on its main thread), ${f2((1000 * s.cpuSeconds) / s.images)} CPU ms per stored image against ${ok(raw) ? f2((1000 * raw.cpuSeconds) / raw.images) : '—'} for the raw loop.`,
    );
  }
  if (ok(raw)) n.push(`The raw loop spent ${f2(raw.cpuSeconds / raw.seconds)} CPU-seconds per wall second: the fixture site (its own process) and the loop share the ${R.machine.nproc} cores, so the upper bound is itself CPU-bound.`);
  const text = R.textJob?.standalone;
  if (ok(s) && ok(raw) && ok(text) && raw.images && s.pages && text.pages) {
    // What the 0.8x target leaves the service to spend, set against what a page alone costs it.
    const rawMs = (1000 * raw.cpuSeconds) / raw.images;
    const budget = rawMs / 0.8;
    const perPage = s.images / s.pages;
    const pageMs = (1000 * text.cpuSeconds) / text.pages;
    const pageShare = pageMs / perPage;
    n.push(
      `The 0.8× target as CPU: the service and the raw loop are both CPU-bound on the same cores (above), so at 0.8× the raw loop's images/s the service could spend about ${f2(budget)} CPU ms per image (the raw loop's ${f2(rawMs)} ÷ 0.8). The text-only job, a lower bound of a page's share of the work (its text task's POST and store writes, the fetch, the parse, main content, metadata, rights, language and SimHash; not the images task; in a job this short, also the one-time load of the language detector's tables, about 0.1 CPU s), costs the service ${f2(pageMs)} CPU ms per page, that is ${f2(pageShare)} ms per image at ${f2(perPage)} distinct images per page: ${pct(pageShare / budget)} of the budget before any image is fetched, hashed, stored or recorded.`,
    );
  }
  const c = R.cluster;
  if (ok(c) && c.one.infraCpu) {
    const w1 = c.one.cpuSeconds;
    const i1 = c.one.infraCpu;
    n.push(
      `Cluster, 1 worker: the service's processes, FerretDB and RabbitMQ together kept ${f2((w1 + i1.total) / c.one.seconds)} of the ${R.machine.nproc} cores busy (the fixture site and the harness not counted), so on this machine a second worker could add at most ${f2(R.machine.nproc / ((w1 + i1.total) / c.one.seconds))}× before the cores run out. FerretDB (with its PostgreSQL, if that is the backend) spent ${f2(i1.ferretdb)} CPU s and RabbitMQ ${f2(i1.rabbitmq)} CPU s while the API + worker spent ${f2(w1)} CPU s over ${f2(c.one.seconds)} s wall: ${i1.ferretdb > w1 ? `the MongoDB stand-in (${c.source}), not the workers, is what bounds cluster throughput here, so a second worker has little to gain on 2 cores` : 'the workers themselves dominate'}. With a real MongoDB the figure would differ; the ratio 2 vs 1 workers is only meaningful where the store is not the bottleneck.`,
    );
  }
  const busyShares = (origins, k = 6) => {
    const busy = origins.filter((o) => o.key !== '(idle)');
    const total = busy.reduce((a, o) => a + o.ms, 0);
    return busy
      .slice(0, k)
      .map((o) => `${o.key} ${pct(o.ms / total)}`)
      .join(', ');
  };
  if (ok(R.profile)) {
    n.push(
      `Job profile, main thread, largest shares of the busy time among its top 12 sources: ${busyShares(R.profile.origins)}${R.profile.workerThreads ? `; the ${R.profile.workerThreads} parse thread(s): ${busyShares(R.profile.workerOrigins, 4)}` : ''}.`,
    );
  }
  if (ok(R.apiProfile)) n.push(`API read profile, main thread: ${busyShares(R.apiProfile.origins)}.`);
  if (ok(R.api)) {
    n.push(
      `API read: the service answered ${f2(R.api.ratio)}× the bare Express rate with request logging at info, ${f2(R.api.ratioWarn)}× at warn; the difference from bare Express is the service's middleware (request log, metrics, JSON presenters, SQLite read) on the same single thread.`,
    );
  }
  n.push(
    'Raw undici loop: undici Agent (connections = concurrency) + cheerio/slim (htmlparser2, as the service) + fs; text is `$("body").text()` after removing script/style (the service runs its fuller extractor); images deduped by URL in a Set, written under their sha256. It keeps no state and survives no restart: an upper bound, not a peer.',
    'Crawlee: CheerioCrawler with its defaults (request queue persisted to CRAWLEE_STORAGE_DIR, a temp dir; session pool; browser-like headers); images are requests of their own (label IMG, `additionalMimeTypes`), deduped by the request queue; maxRequestRetries 2. No browser is installed or used.',
    "Scrapy: `CrawlerProcess` with ImagesPipeline (Pillow; it re-encodes every image as JPEG, its default behaviour) and a small pipeline writing text; ROBOTSTXT_OBEY off (Crawlee does not read robots.txt either; the service does, one extra request per site). Venv in bench/node_modules/.venv so eslint and tsc never walk it.",
    'The service: built from the working tree with tsc into a temp dir (dist/ is left alone), run as `node main.js` with HOST=127.0.0.1, ALLOW_PRIVATE_NETWORKS=true (the fixture site is on loopback), a fresh DATA_DIR, PER_HOST_CONCURRENCY = the bench concurrency; everything else default (LOG_LEVEL=info to a file). The harness polls `GET /{kind}_tasks?status=queued|running&limit=1` every 250 ms (1% of the elapsed time in runs over 25 s, up to 500 ms), as a user watching a job would; the wall time does not depend on it (What is timed).',
  );
  return n;
}
