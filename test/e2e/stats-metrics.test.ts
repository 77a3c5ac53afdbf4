/** GET /stats (usage summed in memory, flushed, nothing lost at shutdown) and GET /metrics (Prometheus). */
import path from 'node:path';
import request from 'supertest';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { png } from '../fixtures/images.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startFixtureProxy, type FixtureProxy } from '../fixtures/proxy.js';
import { spawnService, withBuiltServiceAndSite } from '../helpers/processes.js';
import { startTestService, submit, tempDir, waitForTask, withSiteAndService, type TestService } from '../helpers/service.js';

function serveSite(site: FixtureSite): void {
  site.serve('/page', '<html><title>t</title><p>stats</p><img src="/a.png"><img src="/b.png"></html>', 'text/html');
  site.serve('/a.png', png(5, 5, 1), 'image/png');
  site.serve('/b.png', png(6, 6, 2), 'image/png');
  site.serve('/gone', 'no', 'text/plain', 404);
}

describe('GET /stats', () => {
  const ctx = withSiteAndService({ STATS_FLUSH_MS: '3600000' }, serveSite);
  const api = () => request(ctx.svc.url);

  beforeAll(async () => {
    await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'images', ctx.site.url('/page')));
    await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/page')));
    await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/gone')));
  });

  it('counts requests, status classes, tasks by kind and outcome, pages, images and bytes', async () => {
    const before = (await api().get('/stats').expect(200)).body.totals.requests;
    const res = await api().get('/stats').expect(200);
    expect(res.body.totals.requests).toBe(before + 1); // the /stats call before this one
    expect(res.body).toMatchObject({ interval: 'hour', group_by: null, from: expect.any(String), to: expect.any(String) });
    const t = res.body.totals;
    expect(t.tasks).toEqual({ images: { succeeded: 1 }, text: { succeeded: 1, http_error: 1 } });
    expect(t.pages).toBe(2);
    expect(t.images).toBe(2);
    const texts = await api().get('/text_tasks').query({ status: 'succeeded' }).expect(200);
    const text = (await api().get(`/text_tasks/${texts.body.items[0].id}/text`).expect(200)).text;
    expect(t.bytes_stored).toBe(png(5, 5, 1).length + png(6, 6, 2).length + Buffer.byteLength(text));
    expect(t.bytes_fetched).toBeGreaterThan(t.bytes_stored);
    expect(t.requests).toBeGreaterThanOrEqual(6); // 3 POSTs and at least one poll each
    expect(t.status['2xx']).toBe(t.requests);
    expect(t).toMatchObject({ robots_refusals: 0, rights_refusals: 0 });
    expect(res.body.buckets).toHaveLength(1);
    expect(res.body.buckets[0].tasks).toEqual(t.tasks);
  });

  it('groups by path, host or client address, per minute or day', async () => {
    await api().get('/nope').expect(404);
    const byPath = (await api().get('/stats').query({ group_by: 'path', interval: 'minute' }).expect(200)).body;
    const groups = byPath.buckets.flatMap((b: { groups: Array<{ group: string; requests: number; status: Record<string, number> }> }) => b.groups);
    const sum = (name: string) => groups.filter((g: { group: string }) => g.group === name).reduce((n: number, g: { requests: number }) => n + g.requests, 0);
    expect(sum('POST /text_tasks')).toBe(2);
    expect(sum('POST /images_tasks')).toBe(1);
    expect(sum('GET /text_tasks/:id')).toBeGreaterThanOrEqual(2);
    expect(groups.find((g: { group: string }) => g.group === 'GET (other)')?.status['4xx']).toBe(1);
    const byHost = (await api().get('/stats').query({ group_by: 'host', interval: 'day' }).expect(200)).body;
    expect(byHost.buckets[0].groups.find((g: { group: string }) => g.group === '127.0.0.1')).toMatchObject({ pages: 2, images: 2 });
    const byIp = (await api().get('/stats').query({ group_by: 'ip' }).expect(200)).body;
    expect(byIp.buckets[0].groups.map((g: { group: string }) => g.group)).toContain('127.0.0.1');
  });

  it('takes a from/to range', async () => {
    const past = (await api().get('/stats').query({ from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' }).expect(200)).body;
    expect(past.buckets).toEqual([]);
    expect(past.totals.requests).toBe(0);
  });

  it.each([
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2026-13-45' }, 'to'],
    [{ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from'],
    [{ group_by: 'user' }, 'group_by'],
    [{ interval: 'week' }, 'interval'],
    [{ from: '2000-01-01T00:00:00Z', interval: 'minute' }, 'interval'],
    [{ colour: 'red' }, 'colour'],
  ])('answers 400 naming the field for %p', async (query, field) => {
    const res = await api().get('/stats').query(query).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });
});

describe('rights refusals', () => {
  const ctx = withSiteAndService({}, (site) => {
    site.route('/reserved', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html', 'x-robots-tag': 'noai' }).end('<html><p>no AI training</p></html>'));
  });
  it('are counted in /stats and /metrics when the rights policy withholds a page', async () => {
    const task = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/reserved')));
    expect(task.status).toBe('failed');
    const stats = (await request(ctx.svc.url).get('/stats').query({ group_by: 'host' }).expect(200)).body;
    expect(stats.totals.rights_refusals).toBe(1);
    expect(stats.buckets[0].groups.find((g: { group: string }) => g.group === '127.0.0.1')?.rights_refusals).toBe(1);
    expect((await request(ctx.svc.url).get('/metrics').expect(200)).text).toMatch(/scrapeds_rights_refusals_total [1-9]/);
  });
});

describe('robots.txt refusals and proxy rotations', () => {
  let proxy: FixtureProxy;
  const ctx = withSiteAndService({}, (site) => {
    site.serve('/robots.txt', 'User-agent: *\nDisallow: /private\n', 'text/plain');
    site.serve('/private/page', '<p>secret</p>', 'text/html');
    site.serve('/open', '<p>open</p>', 'text/html');
  });
  let svc: TestService;
  beforeAll(async () => {
    proxy = await startFixtureProxy('stats-proxy');
    // The first proxy refuses connections: the first fetch finds it unreachable and the pool switches.
    svc = await startTestService({ PROXY_URLS: `http://127.0.0.1:9,${proxy.url}` });
  });
  afterAll(async () => {
    await svc?.close();
    await proxy?.close();
  });

  it('are counted in /stats (robots) and /metrics (both)', async () => {
    const refused = await waitForTask(svc.url, await submit(svc.url, 'text', ctx.site.url('/private/page')));
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'robots_disallowed' } });
    expect((await waitForTask(svc.url, await submit(svc.url, 'text', ctx.site.url('/open')))).status).toBe('succeeded');
    const stats = (await request(svc.url).get('/stats').query({ group_by: 'host' }).expect(200)).body;
    expect(stats.totals.robots_refusals).toBe(1);
    expect(stats.buckets[0].groups.find((g: { group: string }) => g.group === '127.0.0.1')?.robots_refusals).toBe(1);
    const metrics = (await request(svc.url).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^scrapeds_robots_refusals_total [1-9]/m);
    expect(metrics).toMatch(/^scrapeds_proxy_rotations_total\{reason="unreachable"\} [1-9]/m);
  });
});

describe('usage at shutdown', () => {
  it('writes the counts still in memory when the service closes', async () => {
    const site = await startFixtureSite();
    serveSite(site);
    const svc = await startTestService({ STATS_FLUSH_MS: '3600000' });
    try {
      await waitForTask(svc.url, await submit(svc.url, 'text', site.url('/page')));
      for (let i = 0; i < 5; i++) await request(svc.url).get('/text_tasks').expect(200);
    } finally {
      await svc.close();
      await site.close();
    }
    const store = openSqliteTaskStore(`${svc.dataDir}/tasks.sqlite`);
    try {
      const rows = await store.usage.queryUsage({ from: 0, to: Date.now() + 60_000, interval: 'day', groupBy: 'path' });
      expect(rows.find((r) => r.group === 'GET /text_tasks' && r.metric === 'requests')?.n).toBe(5);
      expect(rows.find((r) => r.metric === 'tasks_text_succeeded')?.n).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('usage at SIGTERM (the built process)', () => {
  const ctx = withBuiltServiceAndSite();
  it('writes the counts still in memory before the process exits', async () => {
    serveSite(ctx.site);
    const dataDir = tempDir();
    const svc = spawnService({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_NETWORKS: 'true', STATS_FLUSH_MS: '3600000' });
    const base = (await svc.ready) as string;
    await waitForTask(base, await submit(base, 'images', ctx.site.url('/page')));
    for (let i = 0; i < 7; i++) await request(base).get('/images_tasks').expect(200);
    expect(await svc.stop('SIGTERM')).toBe(0);
    const store = openSqliteTaskStore(path.join(dataDir, 'tasks.sqlite'));
    try {
      const rows = await store.usage.queryUsage({ from: 0, to: Date.now() + 60_000, interval: 'day', groupBy: 'path' });
      const n = (group: string, metric: string) => rows.filter((r) => r.group === group && r.metric === metric).reduce((a, r) => a + r.n, 0);
      expect(n('GET /images_tasks', 'requests')).toBe(7);
      expect(n('POST /images_tasks', 'requests')).toBe(1);
      const totals = await store.usage.queryUsage({ from: 0, to: Date.now() + 60_000, interval: 'day' });
      expect(Object.fromEntries(totals.filter((r) => ['tasks_images_succeeded', 'pages', 'images'].includes(r.metric)).map((r) => [r.metric, r.n])))
        .toEqual({ tasks_images_succeeded: 1, pages: 1, images: 2 });
    } finally {
      await store.close();
    }
  });
});

describe('GET /metrics', () => {
  const ctx = withSiteAndService({}, serveSite);

  // Metrics belong to the process, and this file runs several services in it: counts are at least, not exactly.
  it('exposes HTTP, task, fetch and process metrics in the Prometheus text format', async () => {
    const loc = await submit(ctx.svc.url, 'images', ctx.site.url('/page'));
    await waitForTask(ctx.svc.url, loc);
    await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/gone')));
    const res = await request(ctx.svc.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(text).toMatch(/scrapeds_http_request_duration_seconds_count\{method="POST",route="\/images_tasks",status="202"\} [1-9]/);
    expect(text).toMatch(/scrapeds_http_request_duration_seconds_count\{method="GET",route="\/images_tasks\/:id",status="200"\} \d+/);
    expect(text).toMatch(/scrapeds_tasks_started_total\{kind="images"\} [1-9]/);
    expect(text).toMatch(/scrapeds_tasks_finished_total\{kind="images",code="ok"\} [1-9]/);
    expect(text).toMatch(/scrapeds_tasks_finished_total\{kind="text",code="http_error"\} [1-9]/);
    expect(text).toMatch(/scrapeds_fetch_duration_seconds_count\{outcome="ok"\} (?:[3-9]|[1-9]\d+)\n/);
    expect(text).toMatch(/scrapeds_fetch_bytes_total\{outcome="ok"\} \d+/);
    expect(text).toMatch(/scrapeds_host_limiter_wait_seconds_count [1-9]/);
    expect(text).toMatch(/scrapeds_queue_depth 0/);
    expect(text).toMatch(/scrapeds_tasks_in_flight 0/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('process_resident_memory_bytes');
  });
});

describe('GET /metrics with METRICS_API_KEY', () => {
  const ctx = withSiteAndService({ METRICS_API_KEY: 'prom-token' });
  it('needs the token', async () => {
    const res = await request(ctx.svc.url).get('/metrics').expect(401);
    expect(res.body.errors).toEqual([{ field: 'authorization', message: 'is not the metrics token' }]);
    await request(ctx.svc.url).get('/metrics').set({ authorization: 'Bearer prom-token' }).expect(200);
  });
});
