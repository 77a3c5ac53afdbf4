/**
 * The shared-service features in cluster mode: 2 API replicas behind nginx and a worker, on MongoDB
 * (FerretDB) and RabbitMQ. The rate limit holds across the replicas (no client gets double), usage stats
 * add up what every process counted, and the worker serves its own /metrics.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startNginx, type RunningNginx } from '../helpers/nginx.js';
import { spawnService, stopAllServices, type ServiceProcess } from '../helpers/processes.js';
import { describeWithService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { freePort } from '../helpers/free-port.js';

const ADMIN = 'cluster-admin-key-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describeWithService('MONGO_URL', 'shared service: 2 API replicas behind nginx', (mongoUrl) => {
  const amqpUrl = process.env.AMQP_URL;
  let site: FixtureSite;
  let apis: ServiceProcess[] = [];
  let worker: ServiceProcess;
  let nginx: RunningNginx;
  let workerMetricsPort: number;

  beforeAll(async () => {
    if (!amqpUrl) throw new Error('AMQP_URL is needed (scripts/services.sh start)');
    site = await startFixtureSite();
    site.serve('/page', '<html><title>t</title><p>shared</p></html>', 'text/html');
    const dataDir = tempDir('scrapeds-shared-');
    fs.mkdirSync(path.join(dataDir, 'media'));
    const db = new URL(mongoUrl);
    db.pathname = `/scrapeds_shared_${randomBytes(4).toString('hex')}`;
    workerMetricsPort = await freePort();
    const common = {
      MONGO_URL: db.toString(), AMQP_URL: amqpUrl, QUEUE_NAME: `scrapeds-shared-${randomBytes(4).toString('hex')}`,
      DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', ALLOW_PRIVATE_NETWORKS: 'true',
      AUTH: 'keys', ADMIN_API_KEY: ADMIN, STATS_FLUSH_MS: '200', METRICS_API_KEY: 'scrape-token',
      // Refill of one token per 6 minutes: the test runs within one cell, barring a rare boundary (one more token).
      RATE_LIMITS: 'ip GET /images_tasks 10/h',
    };
    apis = [spawnService({ ...common, ROLE: 'api' }), spawnService({ ...common, ROLE: 'api' })];
    worker = spawnService({ ...common, ROLE: 'worker', METRICS_PORT: String(workerMetricsPort) }, 'worker consuming');
    const urls = (await Promise.all(apis.map((a) => a.ready))) as string[];
    await worker.ready;
    nginx = await startNginx({ mediaRoot: path.join(dataDir, 'media'), upstreams: urls.map((u) => new URL(u).host) });
  }, 60_000);

  afterAll(async () => {
    await nginx?.close();
    await Promise.all([...apis, worker].filter(Boolean).map((p) => p.stop('SIGTERM')));
    await stopAllServices();
    await site?.close();
  });

  it('holds one rate limit across both replicas: 10 of 30 requests pass, served by both', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await request(nginx.url).get('/images_tasks').set(bearer(ADMIN))).status);
    const passed = statuses.filter((s) => s === 200).length;
    // 10, or 11 when a refill falls within the run; two separate buckets would have let 20 through.
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(passed).toBeLessThanOrEqual(11);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Both replicas answered. Their request logs are buffered (flushed every 250 ms), so wait for the lines.
    const servedBy = () => apis.map((a) => a.lines.filter((l) => (l.req as { url?: string } | undefined)?.url === '/images_tasks').length);
    for (const deadline = Date.now() + 5_000; Math.min(...servedBy()) < 1 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    expect(Math.min(...servedBy())).toBeGreaterThanOrEqual(1);
    const refused = await request(nginx.url).get('/images_tasks').set(bearer(ADMIN)).expect(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers['ratelimit-policy']).toBe('"r1";q=10;w=3600');
  });

  it('adds up usage from every process in /stats, by key and by host', async () => {
    const key = (await request(nginx.url).post('/admin/keys').set(bearer(ADMIN)).send({ scopes: ['read', 'write'], name: 'stats' }).expect(201)).body;
    const created = await request(nginx.url).post('/text_tasks').set(bearer(key.key)).send({ url: site.url('/page') }).expect(202);
    for (let i = 0; i < 200; i++) {
      const t = await request(nginx.url).get(created.headers.location as string).set(bearer(key.key)).expect(200);
      if (t.body.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The API replicas and the worker flush every 200 ms, each on its own clock: the worker's count of the task
    // can arrive before a replica's count of the requests, so wait for both.
    let byKey: { totals: { requests: number; tasks: Record<string, Record<string, number>> }; buckets: Array<{ groups: Array<{ group: string; requests: number; status: Record<string, number> }> }> } | undefined;
    const mineIn = (stats: NonNullable<typeof byKey>) => stats.buckets.flatMap((b) => b.groups).find((g) => g.group === key.id);
    for (let i = 0; i < 50; i++) {
      byKey = (await request(nginx.url).get('/stats').query({ group_by: 'key', interval: 'day' }).set(bearer(ADMIN)).expect(200)).body;
      if (byKey!.totals.tasks.text?.succeeded === 1 && (mineIn(byKey!)?.status['2xx'] ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(byKey!.totals.tasks.text).toEqual({ succeeded: 1 });
    const mine = mineIn(byKey!);
    expect(mine?.status['2xx']).toBeGreaterThanOrEqual(2); // its POST and GETs, answered by either replica
    const byHost = (await request(nginx.url).get('/stats').query({ group_by: 'host', interval: 'day' }).set(bearer(ADMIN)).expect(200)).body;
    const host = byHost.buckets.flatMap((b: { groups: Array<{ group: string }> }) => b.groups).find((g: { group: string }) => g.group === '127.0.0.1');
    expect(host).toMatchObject({ pages: 1, tasks: { text: { succeeded: 1 } } });
    expect(host.bytes_fetched).toBeGreaterThan(0);
  });

  it('serves each process\'s own /metrics: the worker on METRICS_PORT, behind its token', async () => {
    const url = `http://127.0.0.1:${workerMetricsPort}`;
    await request(url).get('/metrics').expect(401);
    const res = await request(url).get('/metrics').set(bearer('scrape-token')).expect(200);
    expect(res.text).toMatch(/scrapeds_tasks_finished_total\{kind="text",code="ok"\} 1/);
    expect(res.text).toContain('nodejs_eventloop_lag_seconds');
    const api = await request(nginx.url).get('/metrics').set(bearer('scrape-token')).expect(200);
    expect(api.text).toContain('scrapeds_http_request_duration_seconds_bucket');
  });
});
