/** Refusals and limits as users see them in the API: robots.txt, the per-page image cap, proxies. */
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { startFixtureProxy, type FixtureProxy } from '../fixtures/proxy.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startTestService, submit, waitForTask, withSiteAndService, type TestService } from '../helpers/service.js';

describe('politeness and limits, end to end on the standalone service', () => {
  const image = png(2, 2, 3);

  const ctx = withSiteAndService({ MAX_IMAGES_PER_PAGE: '20', IMAGE_CONCURRENCY: '8' }, (site) => {
    site.serve('/robots.txt', 'User-agent: scrapeds\nDisallow: /members/\nDisallow: /img/private/\n', 'text/plain');
    site.serve('/members/profile', '<p>members only</p>', 'text/html');
    site.serve('/img/ok.png', image, 'image/png');
    site.serve('/img/private/no.png', image, 'image/png');
  });

  it('fails a task for a page robots.txt disallows, with error code robots_disallowed', async () => {
    const location = await submit(ctx.svc.url, 'text', ctx.site.url('/members/profile'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'robots_disallowed' }, page: null });
    expect((task.error as { message: string }).message).toContain('/members/profile');
    expect(ctx.site.hits('/members/profile')).toBe(0);
    await request(ctx.svc.url).get(`${location}/text`).expect(409);
  });

  it('records robots_disallowed for an image robots.txt disallows, and stores the rest', async () => {
    ctx.site.serve('/gallery-robots', '<img src="/img/ok.png"><img src="/img/private/no.png">', 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/gallery-robots'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({ status: 'succeeded', counts: { found: 2, stored: 1, failed: 1 } });
    const images = (await request(ctx.svc.url).get(`${location}/images`).expect(200)).body.items as Array<{ source_url: string; error: { code: string } | null }>;
    expect(images.map((i) => [new URL(i.source_url).pathname, i.error?.code ?? null])).toEqual([
      ['/img/ok.png', null],
      ['/img/private/no.png', 'robots_disallowed'],
    ]);
    expect(ctx.site.hits('/img/private/no.png')).toBe(0);
  });

  it('processes only MAX_IMAGES_PER_PAGE of a page with 10,000 <img> tags, and says how many there were', async () => {
    let imageHits = 0;
    const tags: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const path = `/many/${i}.png`;
      tags.push(`<img src="${path}">`);
      ctx.site.route(path, (_req, res) => {
        imageHits++;
        res.writeHead(200, { 'content-type': 'image/png' }).end(png(1, 1, i % 250));
      });
    }
    ctx.site.serve('/ten-thousand', `<html><body>${tags.join('\n')}</body></html>`, 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/ten-thousand'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({ status: 'succeeded', page: { images_discovered: 10_000 } });
    const counts = task.counts as Record<string, number>;
    expect(counts.found).toBe(20);
    expect(counts.stored! + counts.reused!).toBe(20);
    expect(imageHits).toBe(20);
  });

  it('records no proxy when fetching directly', async () => {
    ctx.site.serve('/plain', '<p>plain</p>', 'text/html');
    const task = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/plain')));
    expect(task).toMatchObject({ status: 'succeeded', page: { proxy: null } });
  });
});

describe('with the SSRF guard on and only the fixture site allowed', () => {
  // The guard judges literal IPs before connecting, so the blocked address below is never dialled.
  const ctx = withSiteAndService({ ALLOW_PRIVATE_NETWORKS: 'false', ALLOW_CIDRS: '127.0.0.1/32' }, (site) => {
    site.route('/robots.txt', (_req, res) => void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/robots.txt' }).end());
    site.serve('/page', '<p>fine page, hostile robots.txt</p>', 'text/html');
  });

  it('fails a task whose robots.txt redirects to a blocked address, saying it was robots.txt', async () => {
    const task = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/page')));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'blocked_address', address: '169.254.169.254' } });
    expect((task.error as { message: string }).message).toContain(`${ctx.site.origin}/robots.txt`);
    expect(ctx.site.hits('/page')).toBe(0);
  });
});

describe('with robots.txt ignored and a proxy configured', () => {
  let site: FixtureSite;
  let proxy: FixtureProxy;
  let svc: TestService;

  beforeAll(async () => {
    site = await startFixtureSite();
    proxy = await startFixtureProxy('e2e-proxy');
    site.serve('/robots.txt', 'User-agent: *\nDisallow: /\n', 'text/plain');
    site.route('/members/profile', (req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>via ${String(req.headers.via)}</p>`));
    // Rights off too: the rights reader would read robots.txt (for AI crawler groups) even when access ignores it.
    svc = await startTestService({ RESPECT_ROBOTS_TXT: 'false', RIGHTS_POLICY: 'off', PROXY_URLS: proxy.url.replace('http://', 'http://user:pw@') });
  });
  afterAll(async () => {
    await svc.close();
    await proxy.close();
    await site.close();
  });

  it('fetches a disallowed page through the proxy, and shows the proxy (redacted) on the task', async () => {
    const location = await submit(svc.url, 'text', site.url('/members/profile'));
    const task = await waitForTask(svc.url, location);
    expect(task).toMatchObject({ status: 'succeeded', page: { proxy: proxy.url.replace('http://', 'http://***@') } });
    expect((await request(svc.url).get(`${location}/text`).expect(200)).text).toBe('via 1.1 e2e-proxy');
    expect(site.hits('/robots.txt')).toBe(0);
  });
});
