/**
 * The /dashboard page: one HTML document with its script inline, no build step. It reads the public API
 * (/stats, the task lists, /batches) with the key the operator types in, sent as a Bearer header from the
 * script and kept in sessionStorage (never in a URL), and refreshes itself every 15 seconds. An admin key
 * shows everyone's work, any other key its own. Charts are inline SVG. Under MEDIA_ACCESS=keys an image
 * that does not load is fetched again with the key and shown from a blob: URL.
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scrapeds dashboard</title>
<style>
  :root { --fg: #1a1a1a; --muted: #4a4a4a; --bg: #ffffff; --panel: #f4f5f7; --line: #c9ccd1; --accent: #0b5cad; --ok: #1d6b32; --bad: #a3141c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); }
  h1 { font-size: 1.25rem; margin: 0; }
  h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
  main { display: grid; gap: 1rem; padding: 1rem 1.25rem; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  table { width: 100%; border-collapse: collapse; }
  caption { text-align: left; color: var(--muted); font-size: .85rem; padding-bottom: .25rem; }
  th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr)); gap: .5rem; }
  .tile { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: .4rem .6rem; }
  .tile dt { color: var(--muted); font-size: .8rem; }
  .tile dd { margin: 0; font-size: 1.3rem; font-weight: 600; font-variant-numeric: tabular-nums; }
  .muted { color: var(--muted); }
  .bad { color: var(--bad); }
  .url { word-break: break-all; }
  progress { width: 100%; height: 1rem; accent-color: var(--accent); }
  .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(6.5rem, 1fr)); gap: .5rem; }
  .gallery figure { margin: 0; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: .25rem; }
  .gallery img { width: 100%; height: 5.5rem; object-fit: contain; display: block; }
  .gallery figcaption { font-size: .75rem; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  form { display: flex; gap: .4rem; align-items: center; }
  input { font: inherit; padding: .25rem .4rem; border: 1px solid var(--muted); border-radius: 4px; }
  button { font: inherit; padding: .25rem .7rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
  :focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
  svg text { fill: var(--muted); font-size: 11px; }
</style>
</head>
<body>
<header>
  <h1>scrapeds dashboard</h1>
  <form id="key-form" aria-label="API key">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" autocomplete="off" placeholder="sk_… (when AUTH=keys)">
    <button type="submit">Use key</button>
  </form>
  <p id="updated" class="muted" role="status" aria-live="polite">Loading…</p>
  <p id="whose" class="muted"></p>
</header>
<main>
  <section aria-labelledby="h-totals" class="wide">
    <h2 id="h-totals">Last 24 hours</h2>
    <dl class="tiles" id="totals"></dl>
  </section>
  <section aria-labelledby="h-chart" class="wide">
    <h2 id="h-chart">Throughput, last hour (tasks finished per minute)</h2>
    <div id="chart"></div>
  </section>
  <section aria-labelledby="h-tasks">
    <h2 id="h-tasks">Tasks by kind and status</h2>
    <table id="tasks"><caption>Queued and running now; finished in the last 24 hours</caption></table>
  </section>
  <section aria-labelledby="h-errors">
    <h2 id="h-errors">Errors by code (24 h)</h2>
    <table id="errors"><caption>Failed tasks by error code</caption></table>
  </section>
  <section aria-labelledby="h-rights">
    <h2 id="h-rights">Rights refusals by site (24 h)</h2>
    <table id="rights"><caption>Pages and images not kept because the site reserves AI uses</caption></table>
  </section>
  <section aria-labelledby="h-batches" class="wide">
    <h2 id="h-batches">Batches</h2>
    <div id="batches"></div>
  </section>
  <section aria-labelledby="h-failures" class="wide">
    <h2 id="h-failures">Recent failures</h2>
    <table id="failures"><caption>Newest first</caption></table>
  </section>
  <section aria-labelledby="h-gallery" class="wide">
    <h2 id="h-gallery">Sample of stored images</h2>
    <div class="gallery" id="gallery"></div>
  </section>
</main>
<script>
"use strict";
// ?refresh=N (seconds, at least 2) changes the refresh period.
const REFRESH_MS = Math.max(2, Number(new URLSearchParams(location.search).get('refresh')) || 15) * 1000;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const fmt = (n) => Number(n || 0).toLocaleString('en');
const bytes = (n) => { n = Number(n || 0); const u = ['B', 'KB', 'MB', 'GB', 'TB']; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + ' ' + u[i]; };
let key = sessionStorage.getItem('scrapeds-key') || '';

async function api(path) {
  const res = await fetch(path, { headers: key ? { authorization: 'Bearer ' + key } : {} });
  if (res.status === 404) return null;
  if (!res.ok) { const p = await res.json().catch(() => ({})); throw new Error(res.status + ' ' + (p.detail || p.title || res.statusText) + ' (' + path + ')'); }
  return res.json();
}

async function countOf(kind, status) {
  const page = await api('/' + kind + '_tasks?status=' + status + '&limit=1000');
  return page ? page.items.length + (page.next_cursor ? '+' : '') : '–';
}

function renderTotals(t) {
  const tiles = [['requests', 'API requests', fmt(t.requests)], ['pages', 'Pages fetched', fmt(t.pages)], ['images', 'Images', fmt(t.images)],
    ['bytes_fetched', 'Bytes fetched', bytes(t.bytes_fetched)], ['bytes_stored', 'Bytes stored', bytes(t.bytes_stored)],
    ['robots_refusals', 'robots.txt refusals', fmt(t.robots_refusals)], ['rights_refusals', 'Rights refusals', fmt(t.rights_refusals)]];
  $('totals').innerHTML = tiles.map(([id, label, v]) => '<div class="tile"><dt>' + label + '</dt><dd data-metric="' + id + '">' + v + '</dd></div>').join('');
}

function renderChart(buckets, from) {
  const minutes = 60, w = 720, h = 160, pad = 28;
  const series = new Array(minutes).fill(0);
  for (const b of buckets) {
    const i = Math.floor((Date.parse(b.start) - from) / 60000);
    if (i >= 0 && i < minutes) for (const kind of Object.values(b.tasks || {})) for (const n of Object.values(kind)) series[i] += n;
  }
  const max = Math.max(1, ...series), bw = (w - pad) / minutes, total = series.reduce((a, b) => a + b, 0);
  const bars = series.map((n, i) => n ? '<rect x="' + (pad + i * bw + 1).toFixed(1) + '" y="' + (h - 18 - (n / max) * (h - 30)).toFixed(1) + '" width="' + (bw - 2).toFixed(1) + '" height="' + ((n / max) * (h - 30)).toFixed(1) + '" fill="#0b5cad"><title>' + n + ' tasks</title></rect>' : '').join('');
  $('chart').innerHTML = '<svg role="img" aria-labelledby="chart-title" viewBox="0 0 ' + w + ' ' + h + '" width="100%" height="' + h + '"><title id="chart-title">' + total + ' tasks finished in the last hour, at most ' + max + ' in one minute</title>'
    + '<line x1="' + pad + '" y1="' + (h - 18) + '" x2="' + w + '" y2="' + (h - 18) + '" stroke="#4a4a4a"/>'
    + '<text x="0" y="16">' + max + '</text><text x="0" y="' + (h - 20) + '">0</text>'
    + '<text x="' + pad + '" y="' + (h - 4) + '">−60 min</text><text x="' + (w - 30) + '" y="' + (h - 4) + '">now</text>' + bars + '</svg>'
    + '<p class="muted" data-metric="finished_last_hour">' + total + ' finished in the last hour</p>';
}

async function renderTasks(t) {
  const kinds = ['text', 'images'];
  const rows = await Promise.all(kinds.map(async (kind) => {
    const finished = t.tasks[kind] || {};
    const ok = finished.succeeded || 0;
    const failed = Object.entries(finished).filter(([k]) => k !== 'succeeded').reduce((a, [, n]) => a + n, 0);
    const [queued, running] = await Promise.all([countOf(kind, 'queued'), countOf(kind, 'running')]);
    return '<tr data-kind="' + kind + '"><th scope="row">' + kind + '</th><td class="num" data-col="queued">' + queued + '</td><td class="num" data-col="running">' + running
      + '</td><td class="num" data-col="succeeded">' + fmt(ok) + '</td><td class="num" data-col="failed">' + fmt(failed) + '</td></tr>';
  }));
  $('tasks').innerHTML = '<caption>Queued and running now; finished in the last 24 hours</caption><tr><th scope="col">kind</th><th scope="col" class="num">queued</th><th scope="col" class="num">running</th><th scope="col" class="num">succeeded</th><th scope="col" class="num">failed</th></tr>' + rows.join('');
}

function renderErrors(t) {
  const codes = {};
  for (const kind of Object.values(t.tasks)) for (const [code, n] of Object.entries(kind)) if (code !== 'succeeded') codes[code] = (codes[code] || 0) + n;
  const entries = Object.entries(codes).sort((a, b) => b[1] - a[1]);
  $('errors').innerHTML = '<caption>Failed tasks by error code</caption>' + (entries.length
    ? '<tr><th scope="col">code</th><th scope="col" class="num">tasks</th></tr>' + entries.map(([c, n]) => '<tr><td><code>' + esc(c) + '</code></td><td class="num" data-code="' + esc(c) + '">' + fmt(n) + '</td></tr>').join('')
    : '<tr><td class="muted">No failures.</td></tr>');
}

async function renderFailures() {
  const pages = await Promise.all(['text', 'images'].map((k) => api('/' + k + '_tasks?status=failed&limit=10')));
  const items = pages.flatMap((p) => (p ? p.items : [])).sort((a, b) => String(b.finished_at).localeCompare(String(a.finished_at))).slice(0, 10);
  $('failures').innerHTML = '<caption>Newest first</caption>' + (items.length
    ? '<tr><th scope="col">when</th><th scope="col">kind</th><th scope="col">URL</th><th scope="col">error</th></tr>' + items.map((t) => '<tr data-task="' + esc(t.id) + '"><td>' + esc(new Date(t.finished_at).toLocaleTimeString('en-GB')) + '</td><td>' + esc(t.kind)
      + '</td><td class="url">' + esc(t.url) + '</td><td><code class="bad">' + esc(t.error && t.error.code) + '</code> ' + esc(t.error && t.error.message) + '</td></tr>').join('')
    : '<tr><td class="muted">No failed tasks.</td></tr>');
}

const blobUrls = [];
/** A protected /media/ file (MEDIA_ACCESS=keys): fetched with the key, shown from memory. */
function keyedImage(img) {
  if (!key || img.dataset.keyed) return;
  img.dataset.keyed = '1';
  fetch(img.src, { headers: { authorization: 'Bearer ' + key } })
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
    .then((b) => { const u = URL.createObjectURL(b); blobUrls.push(u); img.src = u; })
    .catch(() => { img.dataset.failed = '1'; });
}

function renderRights(buckets) {
  const hosts = {};
  for (const b of buckets) for (const g of b.groups || []) if (g.rights_refusals) hosts[g.group] = (hosts[g.group] || 0) + g.rights_refusals;
  const entries = Object.entries(hosts).sort((a, b) => b[1] - a[1]).slice(0, 10);
  $('rights').innerHTML = '<caption>Pages and images not kept because the site reserves AI uses</caption>' + (entries.length
    ? '<tr><th scope="col">site</th><th scope="col" class="num">refusals</th></tr>' + entries.map(([h, n]) => '<tr><td>' + esc(h) + '</td><td class="num" data-host="' + esc(h) + '">' + fmt(n) + '</td></tr>').join('')
    : '<tr><td class="muted">No rights refusals.</td></tr>');
}

async function renderGallery() {
  for (const u of blobUrls.splice(0)) URL.revokeObjectURL(u);
  const page = await api('/images_tasks?status=succeeded&limit=6');
  const lists = await Promise.all((page ? page.items : []).map((t) => api('/images_tasks/' + t.id + '/images?limit=4')));
  const seen = new Set();
  const images = lists.flatMap((l) => (l ? l.items : [])).filter((i) => i.url && !seen.has(i.sha256) && seen.add(i.sha256)).slice(0, 12);
  $('gallery').innerHTML = images.length
    ? images.map((i) => '<figure><img src="' + esc(i.url) + '" alt="image from ' + esc(i.source_url) + '" loading="lazy"><figcaption>' + esc(i.width) + '×' + esc(i.height) + ' ' + esc(i.mime) + '</figcaption></figure>').join('')
    : '<p class="muted">No stored images yet.</p>';
  for (const img of $('gallery').querySelectorAll('img')) img.addEventListener('error', () => keyedImage(img), { once: true });
}

async function renderBatches() {
  const page = await api('/batches?limit=10').catch((e) => ({ error: e }));
  if (page === null) { $('batches').innerHTML = '<p class="muted" data-state="unavailable">This server has no batches yet (GET /batches answered 404).</p>'; return; }
  if (page.error) { $('batches').innerHTML = '<p class="bad">' + esc(page.error.message) + '</p>'; return; }
  const items = page.items || [];
  if (!items.length) { $('batches').innerHTML = '<p class="muted">No batches.</p>'; return; }
  $('batches').innerHTML = '<table><caption>Newest first</caption><tr><th scope="col">batch</th><th scope="col">status</th><th scope="col">progress</th></tr>' + items.map((b) => {
    const c = b.counts || {};
    const total = Number(b.task_count ?? 0), done = Number(c.finished ?? ((c.succeeded || 0) + (c.failed || 0)));
    const label = 'batch ' + b.id + ': ' + done + ' of ' + total + ' done';
    return '<tr><td><code>' + esc(b.id) + '</code></td><td>' + esc(b.status) + '</td><td><progress max="' + Math.max(total, 1) + '" value="' + done + '" aria-label="' + esc(label) + '"></progress> ' + fmt(done) + ' / ' + fmt(total) + '</td></tr>';
  }).join('') + '</table>';
}

async function refresh() {
  try {
    const now = Date.now(), hourAgo = now - (now % 60000) - 59 * 60000; // 60 minute buckets, the current one last
    const dayAgo = new Date(now - 86400000).toISOString();
    const [day, hour, byHost] = await Promise.all([
      api('/stats?interval=day&from=' + dayAgo),
      api('/stats?interval=minute&from=' + new Date(hourAgo).toISOString()),
      api('/stats?interval=day&group_by=host&from=' + dayAgo),
    ]);
    renderTotals(day.totals);
    renderChart(hour.buckets, hourAgo);
    renderErrors(day.totals);
    renderRights(byHost.buckets);
    $('whose').textContent = day.key ? 'Showing the work of key ' + day.key + ' only.' : "Showing everyone's work.";
    await Promise.all([renderTasks(day.totals), renderFailures(), renderGallery(), renderBatches()]);
    $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString('en-GB') + '; refreshes every ' + REFRESH_MS / 1000 + ' s';
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (err) {
    $('updated').innerHTML = '<span class="bad">' + esc(err.message) + '</span>' + (String(err.message).startsWith('401') ? " Enter an API key (an admin key shows everyone's work)." : '');
  }
}

$('key-form').addEventListener('submit', (e) => { e.preventDefault(); key = $('key').value.trim(); sessionStorage.setItem('scrapeds-key', key); refresh(); });
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
`;
