/**
 * The shared-service costs (issue 13), each against a baseline measured in the same run:
 * - API read throughput (GET /text_tasks/:id) with AUTH=keys and rate limits on vs. both off;
 * - the same read while /metrics is scraped every second (Prometheus scrapes every 15 s by default);
 * - whether the usage counters keep up: requests counted by /stats vs. requests autocannon completed.
 * The three variants run at the same time, each its own process driven by its own autocannon, so the load
 * other work puts on a shared machine falls on all three alike; the ratios are taken within a round.
 */
import path from 'node:path';
import autocannon from 'autocannon';
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
const VARIANTS = ['off', 'keys', 'scraped'];

export async function opsRun({ distDir, site, outDir, connections, seconds, repeat }) {
  const runs = { off: [], keys: [], scraped: [] };
  for (let round = 1; round <= repeat; round++) {
    const vs = [];
    try {
      for (const variant of VARIANTS) vs.push(await startVariant({ distDir, site, outDir: path.join(outDir, 'ops'), variant, round }));
      await Promise.all(vs.map((v) => cannon(v.svc.url + v.path, v.key, { connections, seconds: 1 }))); // warm up
      const results = await Promise.all(vs.map((v) => measure(v, { connections, seconds })));
      results.forEach((r, i) => runs[VARIANTS[i]].push(r));
    } finally {
      await Promise.all(vs.map((v) => v.svc.stop()));
    }
  }
  const ratio = (v) => median(runs[v].map((r, i) => r.rps / runs.off[i].rps));
  const all = Object.values(runs).flat();
  return {
    connections, seconds, repeat, limits: LIMITS,
    runs,
    rps: Object.fromEntries(VARIANTS.map((v) => [v, median(runs[v].map((r) => r.rps))])),
    keysRatio: ratio('keys'),
    scrapeCost: 1 - ratio('scraped'),
    countedRatio: Math.min(...all.map((r) => r.counted / r.sent)),
    refused: all.reduce((n, r) => n + r.non2xx + r.errors, 0),
  };
}

export function opsMarkdown(o) {
  if (!o) return '_not measured in this run_\n';
  if (o.error) return `_failed: ${o.error}_\n`;
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const row = (name, v) => `| ${name} | ${Math.round(o.rps[v])} | ${runsOf(o.runs[v], 'p99')} | ${runsOf(o.runs[v], 'cpuPerKReq', 2)} |`;
  return [
    `GET /text_tasks/:id, ${o.connections} connections × ${o.seconds} s per variant, the three variants side by side in each of ${o.repeat} rounds (ratios: median of the per-round ratios); limits \`${o.limits}\`.`,
    '',
    '| variant | req/s (median) | p99 ms (each round) | server CPU s per 1000 req (each round) |',
    '|---|---|---|---|',
    row('AUTH=off, no limits (baseline)', 'off'),
    row('AUTH=keys + 3 rate-limit rules', 'keys'),
    row('baseline + /metrics scraped every 1 s', 'scraped'),
    '',
    `- keys + limits vs. off (same round): **${o.keysRatio.toFixed(2)}×** (target ≥ 0.9×)`,
    `- cost of scraping /metrics under load: **${pct(o.scrapeCost)}** (target < 5 %; negative means within noise)`,
    `- usage counters: /stats counted **${pct(o.countedRatio)}** of the requests autocannon completed (lowest of all runs; over 100 % by the requests still in flight when autocannon stopped counting; target ≥ 100 %)`,
    `- requests refused or failed in all runs: ${o.refused}`,
    '',
  ].join('\n');
}

function runsOf(runs, field, digits = 1) {
  return runs.map((r) => r[field].toFixed(digits)).join(' / ');
}
