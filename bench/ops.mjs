/**
 * The shared-service costs (issue 13), each against a baseline measured in the same run:
 * - API read throughput (GET /text_tasks/:id) with AUTH=keys and rate limits on vs. both off;
 * - the same read while /metrics is scraped every second (Prometheus scrapes every 15 s by default);
 * - whether the usage counters keep up: requests counted by /stats vs. requests autocannon completed.
 * The three variants are separate processes started once; each round measures them one after the other,
 * alone (so each runs at the machine's full speed), in a rotated order, and the ratios are taken within a
 * round. The spread of the per-round ratios (min-max) says how much of a difference is noise. Beside the
 * throughput ratios, two figures that load on a shared machine hardly moves: the server CPU one /metrics
 * scrape costs (against the CPU the server spends per second at full speed), and how many usage-counter
 * increments per second the in-memory aggregation takes (against the increments the API at full speed makes).
 */
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds, sleep } from './lib/proc.mjs';
import { rootRequire } from './lib/root-deps.mjs';
import { startStandalone } from './runners/service.mjs';

const { request } = rootRequire('undici');
const ADMIN = 'bench-admin-key-0123456789abcdef';
// Limits far above what one machine can send: every request pays for the check, none is refused.
const LIMITS = 'ip 1000000/s; key 1000000/s; key GET /text_tasks 1000000/s';

async function call(url, { method = 'GET', key, body } = {}) {
  const headers = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) };
  const res = await request(url, { method, headers, body: body && JSON.stringify(body) });
  return { status: res.statusCode, json: await res.body.json() };
}

async function prepare(svc, site, auth) {
  let key;
  if (auth) key = (await call(`${svc.url}/admin/keys`, { method: 'POST', key: ADMIN, body: { scopes: ['read', 'write'], name: 'bench' } })).json.key;
  const task = (await call(`${svc.url}/text_tasks`, { method: 'POST', key, body: { url: `${site.base}/p/0.html` } })).json;
  for (let i = 0; i < 400; i++) {
    const t = (await call(`${svc.url}/text_tasks/${task.id}`, { key })).json;
    if (t.status === 'succeeded') return { key, path: `/text_tasks/${task.id}` };
    await sleep(50);
  }
  throw new Error('ops bench task did not finish');
}

async function cannon(url, key, { connections, seconds }) {
  // Loaded here: run.mjs imports this module before its first run has installed bench/'s packages.
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections, duration: seconds, headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, sent: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

async function startVariant({ distDir, site, outDir, variant, round }) {
  const auth = variant === 'keys';
  const env = auth ? { AUTH: 'keys', ADMIN_API_KEY: ADMIN, RATE_LIMITS: LIMITS } : {};
  const svc = await startStandalone({ distDir, dataDir: path.join(outDir, `${variant}-${round}`, 'data'), logDir: outDir, logName: `${variant}-${round}.log`, env: { ...env, STATS_FLUSH_MS: '1000' } });
  try {
    return { svc, variant, auth, ...(await prepare(svc, site, auth)) };
  } catch (err) {
    await svc.stop();
    throw err;
  }
}

const statsRequests = async (v) => (await call(`${v.svc.url}/stats?interval=day`, { key: v.auth ? ADMIN : undefined })).json.totals.requests;

async function measure(v, { connections, seconds }) {
  const before = await statsRequests(v);
  let scrapes = 0;
  let scraping = v.variant === 'scraped';
  const scraper = (async () => {
    while (scraping) {
      const res = await request(`${v.svc.url}/metrics`);
      await res.body.text();
      scrapes++;
      await sleep(1000);
    }
  })();
  const cpu0 = cpuSeconds(v.svc.procs[0].pid);
  const r = await cannon(v.svc.url + v.path, v.key, { connections, seconds });
  const cpu = cpuSeconds(v.svc.procs[0].pid) - cpu0;
  scraping = false;
  await scraper;
  await sleep(200); // the last responses' counts
  const after = await statsRequests(v);
  // /stats counts the measured requests (autocannon's total leaves out those still in flight at the end)
  // plus the /stats call before; the one after is not counted yet.
  return { ...r, cpuPerKReq: (cpu / r.sent) * 1000, counted: after - before - 1, scrapes };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const VARIANTS = ['off', 'keys', 'scraped'];

/** Server CPU of one /metrics scrape: `n` scrapes one after another on an idle service. */
async function scrapeCpu(v, n = 50) {
  const cpu0 = cpuSeconds(v.svc.procs[0].pid);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const res = await request(`${v.svc.url}/metrics`);
    bytes += (await res.body.text()).length;
  }
  return { cpuMs: ((cpuSeconds(v.svc.procs[0].pid) - cpu0) / n) * 1000, bytes: bytes / n };
}

/**
 * Increments per second the in-memory usage aggregation takes, in this process (the code the server runs,
 * from dist/): two increments per request (requests, status class), spread over `keys` keys, `ips`
 * addresses and a few routes, as a busy shared service sees them.
 */
async function counterRate(distDir, { keys = 50, ips = 500, n = 2_000_000 } = {}) {
  const { UsageCounter } = await import(path.join(distDir, 'ops/usage-counter.js'));
  const store = { addUsage: async () => undefined };
  const counter = new UsageCounter(store, { warn: () => undefined });
  const routes = ['GET /text_tasks/:id', 'GET /images_tasks/:id', 'POST /batches', 'GET /batches/:id'];
  const dims = Array.from({ length: 4096 }, (_, i) => ({ key: `key${i % keys}`, ip: `10.0.${(i * 7) % ips >> 8}.${(i * 7) % 256}`, path: routes[i % routes.length] }));
  // CPU time, not wall time: on a shared machine the wall clock also counts other processes' turns.
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i += 2) {
    const d = dims[i & 4095];
    counter.add('requests', d);
    counter.add('status_2xx', d);
  }
  const cpu = process.cpuUsage(cpu0);
  return { perCpuSecond: n / ((cpu.user + cpu.system) / 1e6) };
}

export async function opsRun({ distDir, site, outDir, connections, seconds, rounds }) {
  const runs = { off: [], keys: [], scraped: [] };
  const load = [os.loadavg()[0]];
  const vs = [];
  let scrape;
  try {
    for (const variant of VARIANTS) vs.push(await startVariant({ distDir, site, outDir: path.join(outDir, 'ops'), variant, round: 1 }));
    await Promise.all(vs.map((v) => cannon(v.svc.url + v.path, v.key, { connections, seconds: 2 }))); // warm up
    for (let round = 0; round < rounds; round++) {
      // Rotated order: no variant always goes first (or last, after the machine's other work has moved on).
      for (let k = 0; k < VARIANTS.length; k++) {
        const i = (round + k) % VARIANTS.length;
        runs[VARIANTS[i]].push(await measure(vs[i], { connections, seconds }));
      }
    }
    scrape = await scrapeCpu(vs[0]);
    load.push(os.loadavg()[0]);
  } finally {
    await Promise.all(vs.map((v) => v.svc.stop()));
  }
  const ratios = (v) => runs[v].map((r, i) => r.rps / runs.off[i].rps);
  // Server CPU per request against the baseline's in the same round: what a saturated server's rate is bound by.
  const cpuRatios = (v) => runs[v].map((r, i) => r.cpuPerKReq / runs.off[i].cpuPerKReq);
  const all = Object.values(runs).flat();
  const counter = await counterRate(distDir);
  const reqCpuMs = median(runs.off.map((r) => r.cpuPerKReq));
  return {
    connections, seconds, rounds, limits: LIMITS, cores: os.cpus().length, load,
    runs,
    rps: Object.fromEntries(VARIANTS.map((v) => [v, median(runs[v].map((r) => r.rps))])),
    cpuPerKReq: Object.fromEntries(VARIANTS.map((v) => [v, spread(runs[v].map((r) => r.cpuPerKReq))])),
    keysRatio: spread(ratios('keys')),
    keysCpu: spread(cpuRatios('keys')),
    scrapedCpu: spread(cpuRatios('scraped').map((x) => x - 1)),
    scrapeCost: spread(ratios('scraped').map((x) => 1 - x)),
    // A saturated Node process has one core for its JavaScript: a scrape's CPU per second is what it takes away.
    scrape: { ...scrape, reqCpuMs, costAt1s: scrape.cpuMs / 1000, costAt15s: scrape.cpuMs / 15_000 },
    counted: spread(all.map((r) => r.counted / r.sent)),
    // Two increments per request: their CPU against a request's, and the request rate they alone could take.
    counter: { ...counter, shareOfRequest: (2 / counter.perCpuSecond) * 1000 / reqCpuMs, maxRps: counter.perCpuSecond / 2 },
    refused: all.reduce((n, r) => n + r.non2xx + r.errors, 0),
  };
}

export function opsMarkdown(o) {
  if (!o) return '_not measured in this run_\n';
  if (o.error) return `_failed: ${o.error}_\n`;
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const range = (s, f) => `**${f(s.median)}** (rounds: ${f(s.min)} to ${f(s.max)})`;
  const row = (name, v) => `| ${name} | ${Math.round(o.rps[v])} | ${runsOf(o.runs[v], 'rps', 0)} | ${runsOf(o.runs[v], 'p99', 0)} | ${o.cpuPerKReq[v].median.toFixed(2)} |`;
  return [
    `GET /text_tasks/:id, ${o.connections} connections, ${o.seconds} s per measurement; ${o.rounds} rounds, each measuring the three variants alone, one after another, in a rotated order (ratios within a round; median and the range over rounds); limits \`${o.limits}\`.`,
    '',
    '| variant | req/s (median) | req/s (each round) | p99 ms (each round) | server CPU ms per request (median) |',
    '|---|---|---|---|---|',
    row('AUTH=off, no limits (baseline)', 'off'),
    row('AUTH=keys + 3 rate-limit rules', 'keys'),
    row('baseline + /metrics scraped every 1 s', 'scraped'),
    '',
    `- keys + limits vs. off (same round): throughput ${range(o.keysRatio, (x) => `${x.toFixed(2)}×`)} (target ≥ 0.9×); server CPU per request ${range(o.keysCpu, (x) => `${x.toFixed(2)}×`)}`,
    `- /metrics scraped every second under load: throughput lost ${range(o.scrapeCost, pct)} (target < 5 %; negative: faster, i.e. noise); server CPU per request ${range(o.scrapedCpu, (x) => `${x >= 0 ? '+' : ''}${pct(x)}`)}`,
    `- CPU of one scrape: ${o.scrape.cpuMs.toFixed(2)} ms for a ${Math.round(o.scrape.bytes / 1024)} KB exposition (${(o.scrape.cpuMs / o.scrape.reqCpuMs).toFixed(1)} requests' worth at ${o.scrape.reqCpuMs.toFixed(2)} ms each): of the one core a saturated Node process has, **${pct(o.scrape.costAt1s)}** at one scrape per second, ${pct(o.scrape.costAt15s)} at Prometheus' default 15 s`,
    `- usage counters keep up: /stats counted ${range(o.counted, pct)} of the requests autocannon completed (over 100 % by the requests still in flight when autocannon stopped counting; target ≥ 100 %, i.e. nothing dropped at full speed)`,
    `- in-memory aggregation: **${(o.counter.perCpuSecond / 1e6).toFixed(1)} M increments per CPU-second** (50 keys × 500 addresses × 4 routes); a request's 2 increments are **${pct(o.counter.shareOfRequest)}** of its server CPU, and would alone take ${(o.counter.maxRps / 1000).toFixed(0)}k req/s per core; the store sees one batch write per process and flush interval (\`STATS_FLUSH_MS\`), whatever the rate`,
    `- requests refused or failed in all runs: ${o.refused}`,
    `- the machine: ${o.cores} cores, 1-minute load average ${o.load.map((x) => x.toFixed(1)).join(' at the start, ')} at the end (other work ran beside the bench; absolute rates are low for that reason, ratios and CPU per request much less so)`,
    '',
  ].join('\n');
}

function runsOf(runs, field, digits = 1) {
  return runs.map((r) => r[field].toFixed(digits)).join(' / ');
}
