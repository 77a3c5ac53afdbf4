/** Image-text pairs end to end: captions from each source, filters with reasons, resized copies, hashes. */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import sharp from 'sharp';
import { hamming } from '../../src/scrape/hamming.js';
import { gif, png } from '../fixtures/images.js';
import { submit, waitForTask, withSiteAndService } from '../helpers/service.js';

interface ApiImage {
  source_url: string;
  outcome: string;
  url: string | null;
  mime: string | null;
  width: number | null;
  height: number | null;
  phash: string | null;
  alt: string | null;
  title: string | null;
  figcaption: string | null;
  nearby_text: string | null;
  caption: string | null;
  caption_source: string | null;
  resized: { url: string; mime: string; bytes: number; width: number; height: number } | null;
  skip_reason: { code: string; message: string } | null;
  error: unknown;
}

const listImages = async (base: string, location: string) => (await request(base).get(`${location}/images`).expect(200)).body.items as ApiImage[];
const pathOf = (i: ApiImage) => new URL(i.source_url).pathname;

describe('image-text pairs, filters, resizing and hashes, end to end', () => {
  let photo: Buffer;
  let photoCopy: Buffer;
  const ctx = withSiteAndService({}, (site) => {
    site.serve('/captions', `<!doctype html><html><head><title>Pairs</title>
      <meta property="og:image" content="/img/og.png"><meta property="og:image:alt" content="Social card"></head><body>
      <figure><img src="/img/fig.png" alt="A dog" title="dog"><figcaption>Rex on the beach</figcaption></figure>
      <p>Before the picture. <img src="/img/alt.png" alt="Sunset over the bay"> After it.</p>
      <div><img src="/img/title.png" alt="IMG_0042.png" title="Old harbour"></div>
      <section><span><img src="/img/none.gif"></span><p>Just some words near it.</p></section>
      </body></html>`, 'text/html');
    for (const [p, body] of Object.entries({ '/img/og.png': png(4, 4, 1), '/img/fig.png': png(5, 5, 2), '/img/alt.png': png(6, 6, 3), '/img/title.png': png(7, 7, 4) })) site.serve(p, body, 'image/png');
    site.serve('/img/none.gif', gif(), 'image/gif');

    site.serve('/filters', `<html><body>
      <img src="/f/small.png"><img src="/f/wide.png"><img src="/f/ok.png"><img src="/f/anim.gif"><img src="/f/tall.png">
      </body></html>`, 'text/html');
    site.serve('/f/small.png', png(20, 20, 5), 'image/png');
    site.serve('/f/wide.png', png(300, 40, 6), 'image/png');
    site.serve('/f/ok.png', png(120, 90, 7), 'image/png');
    site.serve('/f/anim.gif', gif(), 'image/gif');
    site.serve('/f/tall.png', png(100, 20, 8), 'image/png');
    site.route('/photos', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<img src="/p/photo.png"><img src="/p/copy.jpg">'));
    site.route('/p/photo.png', (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(photo));
    site.route('/p/copy.jpg', (_req, res) => void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photoCopy));
  });

  beforeAll(async () => {
    const w = 320;
    const h = 200;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.fill(Math.round((x / w) * 150 + (Math.hypot(x - 90, y - 80) < 50 ? 100 : 0)), (y * w + x) * 3, (y * w + x) * 3 + 3);
    photo = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
    photoCopy = await sharp(photo).resize(160, 100).jpeg({ quality: 70 }).toBuffer();
  });

  it('gives each image its alt, title, figcaption, nearby text and the caption the rule chooses', async () => {
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/captions'));
    expect((await waitForTask(ctx.svc.url, location)).status).toBe('succeeded');
    const byPath = Object.fromEntries((await listImages(ctx.svc.url, location)).map((i) => [pathOf(i), i]));
    expect(byPath['/img/fig.png']).toMatchObject({ alt: 'A dog', title: 'dog', figcaption: 'Rex on the beach', caption: 'Rex on the beach', caption_source: 'figcaption' });
    expect(byPath['/img/alt.png']).toMatchObject({ alt: 'Sunset over the bay', figcaption: null, nearby_text: 'Before the picture. After it.', caption: 'Sunset over the bay', caption_source: 'alt' });
    expect(byPath['/img/title.png']).toMatchObject({ alt: 'IMG_0042.png', caption: 'Old harbour', caption_source: 'title' });
    expect(byPath['/img/none.gif']).toMatchObject({ alt: null, caption: null, caption_source: null, nearby_text: 'Just some words near it.' });
    expect(byPath['/img/og.png']).toMatchObject({ alt: 'Social card', caption: 'Social card' });
    for (const i of Object.values(byPath)) expect(i.phash).toMatch(/^[0-9a-f]{16}$/);

    // The OpenAPI document describes every field the list shows.
    const doc = (await request(ctx.svc.url).get('/openapi.json').expect(200)).body;
    const described = Object.keys(doc.components.schemas.Image.properties);
    expect(described).toEqual(expect.arrayContaining(Object.keys(byPath['/img/fig.png']!)));
  });

  it('skips what the filters reject, with the reason, keeping no bytes', async () => {
    const mediaFiles = () => fs.readdirSync(path.join(ctx.svc.dataDir, 'media'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;
    const before = mediaFiles();
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/filters'), { min_width: 50, min_height: 30, max_aspect_ratio: 4, mime_types: ['image/png', 'IMAGE/JPEG'] });
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({
      status: 'succeeded',
      counts: { found: 5, stored: 1, skipped: 4, failed: 0 },
      options: { min_width: 50, min_height: 30, max_aspect_ratio: 4, mime_types: ['image/png', 'image/jpeg'], resize: null },
    });
    const items = await listImages(ctx.svc.url, location);
    expect(items.map((i) => [pathOf(i), i.outcome, i.skip_reason?.code ?? null, i.url === null])).toEqual([
      ['/f/small.png', 'skipped', 'filtered', true],
      ['/f/wide.png', 'skipped', 'filtered', true],
      ['/f/ok.png', 'stored', null, false],
      ['/f/anim.gif', 'skipped', 'filtered', true],
      ['/f/tall.png', 'skipped', 'filtered', true],
    ]);
    expect(items.map((i) => i.skip_reason?.message ?? null)).toEqual([
      'width 20 px is under min_width 50',
      'aspect ratio 7.50 is over max_aspect_ratio 4',
      null,
      'type image/gif is not in mime_types (image/png, image/jpeg)',
      'height 20 px is under min_height 30',
    ]);
    expect(mediaFiles()).toBe(before + 1);

    // The same page without filters takes the skipped images after all: they were not kept, so they are fetched.
    const again = await submit(ctx.svc.url, 'images', ctx.site.url('/filters'));
    expect(await waitForTask(ctx.svc.url, again)).toMatchObject({ counts: { found: 5, skipped: 0, failed: 0 } });
  });

  it('stores a resized copy next to the original, and near-duplicate images get close perceptual hashes', async () => {
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/photos'), { resize: { max_side: 64, format: 'webp' } });
    expect(await waitForTask(ctx.svc.url, location)).toMatchObject({ status: 'succeeded', options: { resize: { max_side: 64, format: 'webp' } } });
    const [original, copy] = await listImages(ctx.svc.url, location);
    expect(original!.resized).toMatchObject({ mime: 'image/webp', width: 64, height: 40 });
    expect(copy!.resized).toMatchObject({ mime: 'image/webp', width: 64, height: 40 });
    expect(original!.resized!.url).toBe(original!.url!.replace(/\.png$/, '.64.webp'));
    const file = await request(ctx.svc.url).get(original!.resized!.url).expect(200);
    expect((await sharp(file.body as Buffer).metadata()).format).toBe('webp');
    expect(hamming(original!.phash!, copy!.phash!)).toBeLessThanOrEqual(6);

    // A second task reuses the stored original and the copy already made.
    const reuse = await submit(ctx.svc.url, 'images', ctx.site.url('/photos'), { resize: { max_side: 64, format: 'webp' } });
    await waitForTask(ctx.svc.url, reuse);
    const [reused] = await listImages(ctx.svc.url, reuse);
    expect(reused).toMatchObject({ outcome: 'reused', resized: original!.resized });
  });
});

describe('text tasks carry a SimHash', () => {
  const ctx = withSiteAndService({}, (site) => {
    const body = 'The committee met on Tuesday to discuss the new library building and its opening hours for the coming year. ';
    site.serve('/one', `<p>${body.repeat(5)}</p>`, 'text/html');
    site.serve('/two', `<p>${body.repeat(5).replace('Tuesday', 'Wednesday')}</p>`, 'text/html');
  });

  it('near-identical pages get SimHashes a few bits apart', async () => {
    const [a, b] = await Promise.all(['/one', '/two'].map(async (p) => waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url(p)))));
    expect(a!.simhash).toMatch(/^[0-9a-f]{16}$/);
    expect(hamming(a!.simhash as string, b!.simhash as string)).toBeLessThanOrEqual(8);
  });
});
