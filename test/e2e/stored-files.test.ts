/**
 * Scraped files are a stranger's bytes served from our origin: an SVG with <script> must not run there.
 * Both ways of getting a file (the API's download URL and /media/) send nosniff and a script-forbidding,
 * sandboxing CSP, and make anything but a passive raster image a download.
 */
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { submit, waitForTask, withSiteAndService } from '../helpers/service.js';

const EVIL_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>fetch('/text_tasks').then(r=>r.text()).then(t=>alert(t))</script><rect width="10" height="10"/></svg>`;

interface ApiImage {
  source_url: string;
  url: string;
  download_url: string;
  mime: string;
}

describe('stored files are served inert', () => {
  const ctx = withSiteAndService({}, (site) => {
    site.serve('/evil.svg', EVIL_SVG, 'image/svg+xml');
    site.serve('/fine.png', png(4, 4, 9), 'image/png');
    site.serve('/page', '<html><body><img src="/evil.svg"><img src="/fine.png"></body></html>', 'text/html');
  });

  let images: Record<string, ApiImage>;
  beforeAll(async () => {
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/page'));
    expect(await waitForTask(ctx.svc.url, location)).toMatchObject({ status: 'succeeded', counts: { stored: 2 } });
    const list = await request(ctx.svc.url).get(`${location}/images`).expect(200);
    images = Object.fromEntries((list.body.items as ApiImage[]).map((i) => [new URL(i.source_url).pathname, i]));
  });

  const CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

  it.each(['download_url', 'url'] as const)('an SVG with script, via %s: a sandboxed attachment that is not sniffed', async (which) => {
    const svg = images['/evil.svg'] as ApiImage;
    expect(svg.mime).toBe('image/svg+xml');
    const res = await request(ctx.svc.url).get(svg[which]).expect(200);
    expect(res.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe(CSP);
    expect(res.headers['content-disposition']).toBe('attachment');
  });

  it.each(['download_url', 'url'] as const)('a PNG, via %s: inline, still sandboxed and not sniffed', async (which) => {
    const res = await request(ctx.svc.url).get((images['/fine.png'] as ApiImage)[which]).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe(CSP);
    expect(res.headers['content-disposition']).toBeUndefined();
  });

  it('sends nosniff with the text of a text task', async () => {
    ctx.site.serve('/doc', '<html><head><title>t</title></head><body><p>hello</p></body></html>', 'text/html');
    const location = await submit(ctx.svc.url, 'text', ctx.site.url('/doc'));
    expect(await waitForTask(ctx.svc.url, location)).toMatchObject({ status: 'succeeded' });
    const res = await request(ctx.svc.url).get(`${location}/text`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('credentials found on a page are never shown', () => {
  const ctx = withSiteAndService({}, (site) => {
    site.serve('/a.png', png(2, 2, 21), 'image/png');
    site.route('/to-creds', (_req, res) => void res.writeHead(302, { location: site.url('/page').replace('://', '://user:hunter2@') }).end());
  });

  it('strips user:password@ from image source URLs and the final URL of a redirect', async () => {
    const withCreds = ctx.site.url('/a.png').replace('://', '://user:hunter2@');
    ctx.site.serve('/page', `<html><body><img src="${withCreds}"></body></html>`, 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/to-creds'));
    const task = await waitForTask(ctx.svc.url, location);
    const images = await request(ctx.svc.url).get(`${location}/images`).expect(200);
    const shown = JSON.stringify(task) + JSON.stringify(images.body) + JSON.stringify((await request(ctx.svc.url).get('/images_tasks').expect(200)).body);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('user:');
    expect(images.body.items[0]?.source_url).toBe(ctx.site.url('/a.png'));
  });
});
