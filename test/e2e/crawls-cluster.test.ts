/** A crawl on the cluster adapters (MongoDB store, RabbitMQ queue): one API and two workers, in one process. */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { waitForBatch } from '../helpers/batches.js';
import { serveCrawlSite } from '../helpers/crawl-site.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';

describeWithService('MONGO_URL', 'crawls on MongoDB', (mongoUrl) => {
  describeWithService('AMQP_URL', 'and RabbitMQ with two workers', (amqpUrl) => {
    let site: FixtureSite;
    const services: TestService[] = [];
    let api: TestService;

    beforeAll(async () => {
      site = await startFixtureSite();
      const db = new URL(mongoUrl);
      db.pathname = `/scrapeds_crawls_${randomBytes(4).toString('hex')}`;
      const common = { MONGO_URL: db.toString(), AMQP_URL: amqpUrl, QUEUE_NAME: `scrapeds-crawls-${randomBytes(4).toString('hex')}`, FETCH_RETRIES: '0', METRICS_PORT: '0' };
      services.push(await startTestService({ ...common, ROLE: 'worker' }), await startTestService({ ...common, ROLE: 'worker' }));
      api = await startTestService({ ...common, ROLE: 'api' });
      services.push(api);
    }, 60_000);
    afterAll(async () => {
      for (const s of services) await s.close();
      await site?.close();
    });

    it('crawls links and sitemaps on two workers, each page once, and finishes', async () => {
      const crawlSite = serveCrawlSite(site, 'http://localhost:9');
      const res = await request(api.url).post('/batches').send({
        crawl: { url: crawlSite.start, max_depth: 2, exclude: ['**/private/**'], strip_tracking_params: true }, kinds: ['text', 'images'],
        format: 'main', min_width: 1,
      }).expect(202);
      const done = await waitForBatch(api.url, res.body.id, 60_000);
      expect(done).toMatchObject({ status: 'completed', counts: { succeeded: 14, failed: 0 } });
      const got = (await request(api.url).get(`/batches/${res.body.id}`).expect(200)).body;
      expect(got.crawl.counters).toEqual({ discovered: 7, queued: 7, done: 7, depth_reached: 2 });
      expect(got).toMatchObject({ url_count: 7, task_count: 14 });
      const tasks = (await request(api.url).get(`/batches/${res.body.id}/tasks`).query({ limit: 100 }).expect(200)).body.items as Array<{ url: string; kind: string; format?: string; options?: { min_width: number | null } }>;
      // Every admitted page's tasks carry the batch's task options (the frontier makes them on either worker).
      for (const t of tasks) {
        if (t.kind === 'text') expect(t.format).toBe('main');
        else expect(t.options?.min_width).toBe(1);
      }
      const pages = tasks.filter((t) => t.kind === 'text').map((t) => new URL(t.url).pathname).sort();
      expect(pages).toEqual([...crawlSite.expected].sort());
    }, 120_000);

    it('keeps max_pages exact with two workers racing', async () => {
      const res = await request(api.url).post('/batches').send({ crawl: { url: site.url('/'), max_pages: 4 } }).expect(202);
      const done = await waitForBatch(api.url, res.body.id, 60_000);
      expect(done.counts).toMatchObject({ succeeded: 4 });
      const got = (await request(api.url).get(`/batches/${res.body.id}`).expect(200)).body;
      expect(got.crawl.counters).toMatchObject({ queued: 4, done: 4 });
    }, 120_000);
  });
});
