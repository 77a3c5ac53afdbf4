/** Crawls, standalone: links and sitemaps followed in scope, URLs deduplicated, max_pages exact, bad input refused, a restart survived. */
import request from 'supertest';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { waitForBatch, type ApiBatch } from '../helpers/batches.js';
import { serveCrawlSite } from '../helpers/crawl-site.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startTestService, tempDir, withSiteAndService, type TestService } from '../helpers/service.js';

interface ApiTask { url: string; kind: string; status: string; batch_seq?: number }

async function allTasks(base: string, batchId: string): Promise<ApiTask[]> {
  const out: ApiTask[] = [];
  let cursor: string | undefined;
  do {
    const res = await request(base).get(`/batches/${batchId}/tasks`).query({ limit: 1000, ...(cursor ? { cursor } : {}) }).expect(200);
    out.push(...(res.body.items as ApiTask[]));
    cursor = res.body.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

const pathOf = (url: string) => new URL(url).pathname;

describe('crawls, standalone', () => {
  let other: FixtureSite;
  const ctx = withSiteAndService({ RESPECT_ROBOTS_TXT: 'true', FETCH_RETRIES: '0', WEBHOOK_POLL_MS: '50' });
  beforeAll(async () => {
    other = await startFixtureSite();
    other.serve('/elsewhere', '<title>elsewhere</title>', 'text/html');
  });
  afterAll(() => other.close());
  const api = () => request(ctx.svc.url);

  it('follows links and sitemaps (index and gzipped) within scope, each page once, and finishes when the frontier is drained', async () => {
    const site = serveCrawlSite(ctx.site, other.origin.replace('127.0.0.1', 'localhost'));
    const res = await api().post('/batches').send({
      crawl: { url: site.start, max_depth: 2, exclude: ['**/private/**'], strip_tracking_params: true },
      kinds: ['text', 'images'],
    }).expect(202);
    expect(res.body.crawl).toMatchObject({ url: site.start, max_pages: 1000, max_depth: 2, sitemaps: true, same_site: true, strip_tracking_params: true, counters: { discovered: 1, queued: 1 } });
    const done = await waitForBatch(ctx.svc.url, res.body.id);
    expect(done.status).toBe('completed');
    const tasks = await allTasks(ctx.svc.url, res.body.id);
    const pages = tasks.filter((t) => t.kind === 'text').map((t) => pathOf(t.url));
    expect([...pages].sort()).toEqual([...site.expected].sort());
    expect(tasks).toHaveLength(site.expected.length * 2);
    expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
    // Each page fetched once (text and images share the fetch); what is out of scope never.
    for (const p of ['/d', '/private/x', '/nofollow']) expect(ctx.site.hits(p)).toBe(0);
    expect(other.hits('/elsewhere')).toBe(0);
    expect(ctx.site.hits('/sitemap-b.xml.gz')).toBe(1);
    const got = (await api().get(`/batches/${res.body.id}`).expect(200)).body as ApiBatch & { crawl: { counters: Record<string, number> } };
    expect(got.crawl.counters).toEqual({ discovered: 7, queued: 7, done: 7, depth_reached: 2 });
    expect(got).toMatchObject({ url_count: 7, task_count: 14, progress: 1 });
  });

  it('admits exactly max_pages pages', async () => {
    const site = serveCrawlSite(ctx.site, other.origin);
    const res = await api().post('/batches').send({ crawl: { url: site.start, max_pages: 3 } }).expect(202);
    await waitForBatch(ctx.svc.url, res.body.id);
    const tasks = await allTasks(ctx.svc.url, res.body.id);
    expect(tasks).toHaveLength(3);
    const got = (await api().get(`/batches/${res.body.id}`).expect(200)).body;
    expect(got.crawl.counters).toMatchObject({ queued: 3, done: 3 });
    expect(got.crawl.counters.discovered).toBeGreaterThanOrEqual(3);
  });

  it('gives every page it admits the batch task options, as the start page got them', async () => {
    const site = serveCrawlSite(ctx.site, other.origin);
    const res = await api().post('/batches').send({
      crawl: { url: site.start, max_pages: 4 }, kinds: ['text', 'images'], format: 'markdown', min_width: 2, resize: { max_side: 64, format: 'png' },
    }).expect(202);
    await waitForBatch(ctx.svc.url, res.body.id);
    const tasks = await allTasks(ctx.svc.url, res.body.id);
    expect(tasks).toHaveLength(8);
    for (const t of tasks) {
      const one = (await api().get(`/${t.kind}_tasks/${(t as ApiTask & { id: string }).id}`).expect(200)).body;
      if (t.kind === 'text') expect(one.format).toBe('markdown');
      else expect(one.options).toMatchObject({ min_width: 2, resize: { max_side: 64, format: 'png' } });
    }
  });

  it('sends crawl webhook events: started, each page finished, completed', async () => {
    const hook: WebhookReceiver = await startWebhookReceiver();
    try {
      const res = await api().post('/batches').send({ crawl: { url: ctx.site.url('/a'), max_depth: 1, sitemaps: false }, webhook: { url: hook.url, secret: hook.secret } }).expect(202);
      await waitForBatch(ctx.svc.url, res.body.id);
      const deadline = Date.now() + 15_000;
      while (!hook.received.some((r) => r.event.type === 'crawl.completed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const types = hook.received.map((r) => r.event.type);
      // /a → /c and / (depth 1): three pages.
      expect(types.filter((t) => t === 'crawl.started')).toHaveLength(1);
      expect(types.filter((t) => t === 'crawl.page_finished')).toHaveLength(3);
      expect(types.filter((t) => t === 'crawl.completed')).toHaveLength(1);
      expect(types.some((t) => t.startsWith('batch.'))).toBe(false);
      expect(hook.received.every((r) => r.verified)).toBe(true);
    } finally {
      await hook.close();
    }
  });

  it.each([
    ['a negative max_pages', { crawl: { url: 'https://example.com/', max_pages: -1 } }, 'crawl.max_pages'],
    ['a fractional max_depth', { crawl: { url: 'https://example.com/', max_depth: 1.5 } }, 'crawl.max_depth'],
    ['a bad regular expression', { crawl: { url: 'https://example.com/', include: ['/(unclosed/'] } }, 'crawl.include.0'],
    ['a regex flag we do not take', { crawl: { url: 'https://example.com/', exclude: ['ok', '/x/g'] } }, 'crawl.exclude.1'],
    ['crawl and urls together', { crawl: { url: 'https://example.com/' }, urls: ['https://example.com/'] }, 'crawl'],
    ['a start URL that is not http(s)', { crawl: { url: 'ftp://example.com/' } }, 'crawl.url'],
    ['no start URL', { crawl: {} }, 'crawl.url'],
    ['an unknown crawl option', { crawl: { url: 'https://example.com/', depth: 3 } }, 'crawl.depth'],
    ['a crawl that is not an object', { crawl: 'https://example.com/' }, 'crawl'],
  ])('refuses %s with 400 naming the field, storing nothing', async (_what, body, field) => {
    const before = (await api().get('/batches').expect(200)).body.items.length;
    const res = await api().post('/batches').send(body).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await api().get('/batches').expect(200)).body.items.length).toBe(before);
  });
});

describe('a crawl across a restart', () => {
  it('resumes from the stored frontier and finishes every page once', async () => {
    const site = await startFixtureSite();
    // A chain of 12 pages; pages past /p/3 wait until released, so the first service stops mid-crawl.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < 12; i++) {
      site.route(`/p/${i}`, async (_req, res) => {
        if (i > 3) await gate;
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>p${i}</title><p>page ${i}</p>${i < 11 ? `<a href="/p/${i + 1}">next</a>` : ''}`);
      });
    }
    const dataDir = tempDir();
    const env = { RESPECT_ROBOTS_TXT: 'false', FETCH_RETRIES: '0', WORKER_CONCURRENCY: '2', SHUTDOWN_GRACE_MS: '100', FETCH_TIMEOUT_MS: '30000' };
    let svc: TestService | undefined = await startTestService(env, dataDir);
    try {
      const res = await request(svc.url).post('/batches').send({ crawl: { url: site.url('/p/0'), max_depth: 20, sitemaps: false } }).expect(202);
      const id = res.body.id as string;
      const deadline = Date.now() + 15_000;
      while (site.hits('/p/4') === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(site.hits('/p/4')).toBe(1);
      await svc.close();
      svc = undefined;
      release();
      svc = await startTestService(env, dataDir);
      const done = await waitForBatch(svc.url, id);
      expect(done.counts).toMatchObject({ succeeded: 12, failed: 0 });
      const tasks = await allTasks(svc.url, id);
      expect(tasks.map((t) => pathOf(t.url))).toEqual(Array.from({ length: 12 }, (_, i) => `/p/${i}`));
      const got = (await request(svc.url).get(`/batches/${id}`).expect(200)).body;
      expect(got.crawl.counters).toEqual({ discovered: 12, queued: 12, done: 12, depth_reached: 11 });
    } finally {
      release();
      await svc?.close();
      await site.close();
    }
  });
});
