import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { gif, jpeg, png } from '../fixtures/images.js';
import { submit, waitForTask, withSiteAndService } from '../helpers/service.js';

interface ApiImage {
  id: string;
  position: number;
  source_url: string;
  outcome: string;
  url: string | null;
  download_url: string | null;
  mime: string | null;
  bytes: number | null;
  width: number | null;
  height: number | null;
  sha256: string | null;
  error: { code: string; message: string; http_status?: number } | null;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function listImages(base: string, location: string): Promise<ApiImage[]> {
  const all: ApiImage[] = [];
  let cursor: string | null = null;
  do {
    const res: request.Response = await request(base).get(`${location}/images`).query({ limit: 3, ...(cursor ? { cursor } : {}) }).expect(200);
    all.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return all;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

describe('images tasks, end to end on the standalone service', () => {
  const files: Record<string, Buffer> = {
    '/img/a.png': png(3, 2, 1),
    '/img/b.png': png(4, 4, 2),
    '/img/c.gif': gif(),
    '/img/d.jpg': jpeg(5, 7),
    '/img/e.png': png(6, 1, 5),
    '/img/f.png': png(2, 9, 6),
    '/img/g.png': png(1, 1, 7),
    '/base/h.png': png(8, 8, 8),
    '/img/same-1.png': png(10, 10, 42),
    '/img/same-2.png': png(10, 10, 42),
  };

  const ctx = withSiteAndService({ IMAGE_CONCURRENCY: '4', MAX_IMAGE_BYTES: '4096' }, (site) => {
    for (const [p, body] of Object.entries(files)) site.serve(p, body, p.endsWith('.gif') ? 'image/gif' : p.endsWith('.jpg') ? 'image/jpeg' : 'image/png');
  });

  it('stores every image the page references, byte-identical, with metadata', async () => {
    ctx.site.serve(
      '/gallery',
      `<html><head><meta property="og:image" content="/img/a.png"></head><body>
        <img src="img/a.png"><img srcset="/img/b.png 1x, /img/c.gif 2x">
        <picture><source srcset="/img/d.jpg"><img src="/img/b.png"></picture>
        <img data-src="/img/e.png"><noscript><img src="/img/f.png"></noscript>
        <input type="image" src="/img/g.png">
      </body></html>`,
      'text/html',
    );
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/gallery'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({ status: 'succeeded', counts: { found: 7, stored: 7, reused: 0, failed: 0 } });
    const images = await listImages(ctx.svc.url, location);
    const expected = ['/img/a.png', '/img/b.png', '/img/c.gif', '/img/d.jpg', '/img/e.png', '/img/f.png', '/img/g.png'];
    expect(images.map((i) => new URL(i.source_url).pathname).sort()).toEqual(expected);
    expect(images.map((i) => i.position)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const img of images) {
      const original = files[new URL(img.source_url).pathname] as Buffer;
      expect(img).toMatchObject({ outcome: 'stored', bytes: original.length, sha256: sha256(original), error: null });
      expect(img.url).toMatch(new RegExp(`^/media/images/${img.sha256!.slice(0, 2)}/${img.sha256}\\.(png|gif|jpg)$`));
      const viaMedia = await request(ctx.svc.url).get(img.url!).buffer(true).parse(binary).expect(200);
      expect(Buffer.compare(viaMedia.body as Buffer, original)).toBe(0);
      const viaApi = await request(ctx.svc.url).get(img.download_url!).buffer(true).parse(binary).expect(200).expect('content-type', img.mime!);
      expect(Buffer.compare(viaApi.body as Buffer, original)).toBe(0);
      for (const p of expected) expect(ctx.site.hits(p)).toBeLessThanOrEqual(1);
    }
    const byPath = Object.fromEntries(images.map((i) => [new URL(i.source_url).pathname, i]));
    expect(byPath['/img/a.png']).toMatchObject({ mime: 'image/png', width: 3, height: 2 });
    expect(byPath['/img/c.gif']).toMatchObject({ mime: 'image/gif', width: 1, height: 1 });
    expect(byPath['/img/d.jpg']).toMatchObject({ mime: 'image/jpeg', width: 5, height: 7 });
  });

  it('resolves relative URLs against <base href>', async () => {
    ctx.site.serve('/deep/page', '<html><head><base href="/base/"></head><body><img src="h.png"></body></html>', 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/deep/page'));
    expect(await waitForTask(ctx.svc.url, location)).toMatchObject({ status: 'succeeded', counts: { stored: 1 } });
    expect((await listImages(ctx.svc.url, location))[0]?.source_url).toBe(ctx.site.url('/base/h.png'));
  });

  it('fetches each shared image exactly once when two tasks on two pages start at once', async () => {
    const shared = Array.from({ length: 12 }, (_, i) => `/shared/${i}.png`);
    shared.forEach((p, i) =>
      ctx.site.route(p, async (_req, res) => {
        await new Promise((r) => setTimeout(r, 30)); // keep downloads in flight while the other task claims
        res.writeHead(200, { 'content-type': 'image/png' }).end(png(2, 2, 100 + i));
      }),
    );
    const tags = (list: string[]) => list.map((p) => `<img src="${p}">`).join('');
    ctx.site.serve('/page-1', `<body>${tags(shared)}</body>`, 'text/html');
    ctx.site.serve('/page-2', `<body>${tags([...shared].reverse())}</body>`, 'text/html');
    const [l1, l2] = await Promise.all([submit(ctx.svc.url, 'images', ctx.site.url('/page-1')), submit(ctx.svc.url, 'images', ctx.site.url('/page-2'))]);
    const [t1, t2] = await Promise.all([waitForTask(ctx.svc.url, l1), waitForTask(ctx.svc.url, l2)]);
    for (const p of shared) expect(ctx.site.hits(p)).toBe(1);
    const c1 = t1.counts as Record<string, number>;
    const c2 = t2.counts as Record<string, number>;
    expect([t1.status, t2.status]).toEqual(['succeeded', 'succeeded']);
    expect(c1.found).toBe(12);
    expect(c2.found).toBe(12);
    expect(c1.stored! + c2.stored!).toBe(12);
    expect(c1.reused! + c2.reused!).toBe(12);
    expect(c1.failed! + c2.failed!).toBe(0);
  });

  it('keeps one file for the same bytes under two URLs, and lists both sources', async () => {
    ctx.site.serve('/twins', '<img src="/img/same-1.png"><img src="/img/same-2.png">', 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/twins'));
    expect(await waitForTask(ctx.svc.url, location)).toMatchObject({ status: 'succeeded', counts: { found: 2, stored: 2 } });
    const [one, two] = await listImages(ctx.svc.url, location);
    expect(one!.source_url).not.toBe(two!.source_url);
    expect(one!.url).toBe(two!.url);
    expect(one!.id).not.toBe(two!.id);
    const onDisk = filesUnder(path.join(ctx.svc.dataDir, 'media')).filter((f) => f.includes(one!.sha256!));
    expect(onDisk).toHaveLength(1);
  });

  it('records a clear error per failed image: 404, not an image, too large', async () => {
    ctx.site.serve('/fake.png', '<html>not an image</html>', 'image/png');
    ctx.site.serve('/huge.png', Buffer.concat([png(1, 1), Buffer.alloc(10_000)]), 'image/png');
    ctx.site.serve('/mixed', '<img src="/nope.png"><img src="/fake.png"><img src="/huge.png"><img src="/img/a.png">', 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/mixed'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task.status).toBe('succeeded');
    expect(task.counts).toEqual({ found: 4, stored: 0, reused: 1, failed: 3, skipped: 0 });
    const images = await listImages(ctx.svc.url, location);
    expect(images.map((i) => [i.outcome, i.error?.code ?? null])).toEqual([
      ['failed', 'http_error'],
      ['failed', 'not_an_image'],
      ['failed', 'too_large'],
      ['reused', null],
    ]);
    expect(images[0]!.error!.http_status).toBe(404);
    expect(images[0]).toMatchObject({ url: null, download_url: null, sha256: null });
    await request(ctx.svc.url).get(`${location}/images/${images[0]!.id}`).expect(404);
  });

  it('retries a failed image in a later task, and refresh: true forces a new fetch', async () => {
    let broken = true;
    ctx.site.route('/flaky.png', (_req, res) => {
      if (broken) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'image/png' }).end(png(3, 3, 77));
    });
    ctx.site.serve('/flaky-page', '<img src="/flaky.png">', 'text/html');
    const first = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'images', ctx.site.url('/flaky-page')));
    expect(first.counts).toMatchObject({ failed: 1 });
    broken = false;
    const second = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'images', ctx.site.url('/flaky-page')));
    expect(second.counts).toMatchObject({ stored: 1, failed: 0 });
    const hitsAfterStore = ctx.site.hits('/flaky.png');
    const third = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'images', ctx.site.url('/flaky-page')));
    expect(third.counts).toMatchObject({ reused: 1 });
    expect(ctx.site.hits('/flaky.png')).toBe(hitsAfterStore);
    const refreshed = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'images', ctx.site.url('/flaky-page'), { refresh: true }));
    expect(refreshed.counts).toMatchObject({ stored: 1, reused: 0 });
    expect(ctx.site.hits('/flaky.png')).toBe(hitsAfterStore + 1);
  });

  it('stores data: URI images', async () => {
    const bytes = png(2, 3, 9);
    ctx.site.serve('/inline', `<img src="data:image/png;base64,${bytes.toString('base64')}">`, 'text/html');
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/inline'));
    expect(await waitForTask(ctx.svc.url, location)).toMatchObject({ status: 'succeeded', counts: { stored: 1 } });
    const [img] = await listImages(ctx.svc.url, location);
    expect(img).toMatchObject({ sha256: sha256(bytes), width: 2, height: 3, mime: 'image/png' });
    expect(img!.source_url).toMatch(/^data:image\/png;sha256,[0-9a-f]{64}$/);
  });
});

/** supertest parser that keeps the body as bytes whatever the content type. */
function binary(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}
