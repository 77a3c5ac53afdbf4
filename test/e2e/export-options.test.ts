/**
 * Export options end to end: near-duplicates dropped within a Hamming distance (counted in the manifest,
 * deterministic), resized copies exported in place of originals, and every item's metadata, captions,
 * hashes and rights in the results stream and in each format, read back by the Python readers.
 */
import request from 'supertest';
import sharp from 'sharp';
import { hamming } from '../../src/scrape/hamming.js';
import { waitForBatch } from '../helpers/batches.js';
import { binary, exportAndDownload, readBack, sha256, type ApiExport, type ReadEntry } from '../helpers/exports.js';
import { withSiteAndService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';

/** A deterministic paragraph of `n` words drawn from `vocabulary` by a stride. */
function prose(n: number, stride: number, vocabulary: string[]): string {
  return Array.from({ length: n }, (_, i) => vocabulary[(i * stride + Math.floor(i / 7)) % vocabulary.length]).join(' ');
}
const VOCAB = 'river stone lantern meadow copper harbour violet engine candle orchard thunder basket glacier pepper ribbon marble falcon willow canyon saddle'.split(' ');
const BODY_A = `${prose(90, 3, VOCAB)}. ${prose(60, 7, VOCAB)}.`;
// One word changed in 150: a near-duplicate of A.
const BODY_B = BODY_A.replace(/\bcanyon\b/, 'tornado');
const BODY_C = `${prose(150, 11, VOCAB.slice().reverse())}.`;

const page = (title: string, head: string, body: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title>${head}</head><body><article><h1>${title}</h1>${body}</article></body></html>`;

async function raw(w: number, h: number, value: (x: number, y: number) => number): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.fill(value(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

interface ResultImage { source_url: string; sha256: string; phash: string; alt: string | null; figcaption: string | null; caption: string | null; nearby_text: string | null; rights: { verdict: string } | null; resized: { url: string; sha256: string; mime: string; width: number; height: number } | null }
interface ResultRecord { kind: string; url: string; format?: string; simhash?: string; page: { metadata?: Record<string, unknown> }; rights: { verdict: string; signals: unknown[] } | null; images?: ResultImage[]; options?: { resize: unknown } }

describe('export options: near-duplicates, resized copies, metadata in every format', () => {
  const files: Record<string, Buffer> = {};
  const ctx = withSiteAndService({ FETCH_RETRIES: '0', RIGHTS_POLICY: 'record' }, (site) => {
    site.serve('/a', page('Alpha article', `
      <meta name="description" content="About alpha"><meta name="author" content="Ada Writer">
      <meta property="article:published_time" content="2024-05-01T10:00:00Z"><link rel="canonical" href="https://example.org/alpha">
      <meta property="og:site_name" content="Example Site"><meta name="robots" content="noai">`,
    `<p>${BODY_A}</p><p><a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a></p>
      <figure><img src="/p/photo.png" alt="A gradient"><figcaption>The gradient photo</figcaption></figure>`), 'text/html; charset=utf-8');
    site.serve('/b', page('Beta article', '', `<p>${BODY_B}</p><p>Copy below. <img src="/p/copy.jpg" alt="Smaller copy"> Above.</p>`), 'text/html; charset=utf-8');
    site.serve('/c', page('Gamma article', '', `<p>${BODY_C}</p><img src="/p/other.png">`), 'text/html; charset=utf-8');
    for (const name of ['photo.png', 'copy.jpg', 'other.png']) {
      site.route(`/p/${name}`, (_req, res) => void res.writeHead(200, { 'content-type': name.endsWith('.jpg') ? 'image/jpeg' : 'image/png' }).end(files[name]));
    }
  });
  let batchId: string;
  let records: ResultRecord[];
  const api = () => request(ctx.svc.url);
  const textOf = (path: string) => records.find((r) => r.kind === 'text' && r.url.endsWith(path)) as ResultRecord;
  const imageOf = (name: string) => records.flatMap((r) => r.images ?? []).find((i) => i.source_url.endsWith(name)) as ResultImage;

  beforeAll(async () => {
    files['photo.png'] = await raw(320, 200, (x, y) => Math.round((x / 320) * 150 + (Math.hypot(x - 90, y - 80) < 50 ? 100 : 0)));
    files['copy.jpg'] = await sharp(files['photo.png']).resize(160, 100).jpeg({ quality: 70 }).toBuffer();
    files['other.png'] = await raw(200, 200, (x, y) => ((Math.floor(x / 25) + Math.floor(y / 25)) % 2 ? 230 : 20));
    const res = await api().post('/batches').send({
      urls: ['/a', '/b', '/c'].map((p) => ctx.site.url(p)), kinds: ['text', 'images'], format: 'main', resize: { max_side: 64, format: 'webp' },
    }).expect(202);
    batchId = res.body.id;
    await waitForBatch(ctx.svc.url, batchId);
    const results = await api().get(`/batches/${batchId}/results`).buffer(true).parse(binary).expect(200);
    records = (results.body as Buffer).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as ResultRecord);
  });

  it('the results stream carries each text\'s metadata, SimHash and rights, and each image\'s texts, dHash, rights and resized copy', () => {
    expect(records).toHaveLength(6);
    const a = textOf('/a');
    expect(a).toMatchObject({ format: 'main', simhash: expect.stringMatching(/^[0-9a-f]{16}$/), rights: { verdict: 'reserved' } });
    expect(a.page.metadata).toMatchObject({
      title: 'Alpha article', description: 'About alpha', author: 'Ada Writer', published: '2024-05-01T10:00:00.000Z',
      canonical_url: 'https://example.org/alpha', site_name: 'Example Site', license: 'https://creativecommons.org/licenses/by/4.0/', language: 'en',
    });
    expect(a.page.metadata?.word_count).toBeGreaterThan(140);
    expect(a.rights?.signals).toEqual(expect.arrayContaining([expect.objectContaining({ signal: 'meta-robots', effect: 'reserved' })]));
    expect(imageOf('photo.png')).toMatchObject({ alt: 'A gradient', figcaption: 'The gradient photo', caption: 'The gradient photo', phash: expect.stringMatching(/^[0-9a-f]{16}$/), rights: { verdict: expect.any(String) } });
    expect(imageOf('copy.jpg')).toMatchObject({ alt: 'Smaller copy', caption: 'Smaller copy', nearby_text: 'Copy below. Above.' });
    for (const name of ['photo.png', 'copy.jpg', 'other.png']) {
      expect(imageOf(name).resized).toMatchObject({ mime: 'image/webp', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
    // The batch's task options reached its tasks.
    expect(records.find((r) => r.kind === 'images')?.options).toMatchObject({ resize: { max_side: 64, format: 'webp' } });
  });

  it('drops near-duplicates within the distance asked for, not beyond it, and says how many', async () => {
    const dText = hamming(textOf('/a').simhash as string, textOf('/b').simhash as string);
    const dImage = hamming(imageOf('photo.png').phash, imageOf('copy.jpg').phash);
    // The fixture is what the test needs: the near copies are nearer than anything else.
    expect(dText).toBeLessThan(hamming(textOf('/a').simhash as string, textOf('/c').simhash as string));
    expect(dText).toBeLessThan(hamming(textOf('/b').simhash as string, textOf('/c').simhash as string));
    expect(dImage).toBeLessThanOrEqual(10);
    expect(hamming(imageOf('photo.png').phash, imageOf('other.png').phash)).toBeGreaterThan(dImage);
    expect(hamming(imageOf('copy.jpg').phash, imageOf('other.png').phash)).toBeGreaterThan(dImage);

    const { exp } = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl', near_duplicates: { images_max_distance: dImage, text_max_distance: dText } });
    expect(exp.options).toMatchObject({ near_duplicates: { images_max_distance: dImage, text_max_distance: dText } });
    expect(exp.manifest).toMatchObject({
      records: 4, near_duplicates: { images: { max_distance: dImage, dropped: 1 }, text: { max_distance: dText, dropped: 1 } },
    });
    const stats = Object.fromEntries(exp.manifest.shards.map((s) => [s.name, s.samples]));
    expect(stats).toEqual({ 'images-00000.jsonl.gz': 2, 'text-00000.jsonl.gz': 2 });

    // One bit closer and nothing is near enough.
    if (dText > 0 && dImage > 0) {
      const tighter = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl', near_duplicates: { images_max_distance: dImage - 1, text_max_distance: dText - 1 } });
      expect(tighter.exp.manifest).toMatchObject({ records: 6, near_duplicates: { images: { dropped: 0 }, text: { dropped: 0 } } });
    }
    // One distance for both kinds.
    const both = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl', kinds: ['text'], near_duplicates: { max_distance: dText } });
    expect(both.exp.manifest).toMatchObject({ records: 2, near_duplicates: { images: { max_distance: dText, dropped: 0 }, text: { max_distance: dText, dropped: 1 } } });
    // Without the option nothing is compared.
    const none = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl' });
    expect(none.exp.manifest).toMatchObject({ records: 6, near_duplicates: null });
  });

  it('gives byte-identical shards when the same export is built again', async () => {
    const body = { format: 'webdataset', images: 'resized', near_duplicates: { max_distance: 10 } };
    const first = await exportAndDownload(ctx.svc.url, batchId, body);
    const again = await exportAndDownload(ctx.svc.url, batchId, body);
    expect(again.exp.shards.map((s) => [s.name, s.sha256])).toEqual(first.exp.shards.map((s) => [s.name, s.sha256]));
    expect(again.exp.manifest.near_duplicates).toEqual(first.exp.manifest.near_duplicates);
  });

  it('exports the resized copies in place of the originals: type, size and sha256 of what is exported', async () => {
    const { exp } = await exportAndDownload(ctx.svc.url, batchId, { format: 'webdataset', kinds: ['images'], images: 'resized' });
    expect(exp.options).toMatchObject({ images: 'resized' });
    expect(exp.manifest).toMatchObject({ records: 3, images: { variant: 'resized', resized: 3, without_resized: 0 } });
    expect(exp.shards.map((s) => s.name)).toEqual(['webp-00000.tar']);

    const { exp: jsonl, files: [shard] } = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl', kinds: ['images'], images: 'resized' });
    expect(jsonl.manifest).toMatchObject({ images: { variant: 'resized', resized: 3 } });
    const { gunzipSync } = await import('node:zlib');
    const fs = await import('node:fs');
    const lines = gunzipSync(fs.readFileSync(shard as string)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).toMatchObject({ variant: 'resized', mime: 'image/webp', url: expect.stringMatching(/\.64\.webp$/) });
      expect(Math.max(line.width as number, line.height as number)).toBeLessThanOrEqual(64);
      const file = await api().get(line.url as string).buffer(true).parse(binary).expect(200);
      expect(sha256(file.body as Buffer)).toBe(line.sha256);
      expect(line.bytes).toBe((file.body as Buffer).length);
      expect(line.original_sha256).not.toBe(line.sha256);
    }
    const original = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl', kinds: ['images'] });
    expect(original.exp.manifest).toMatchObject({ images: { variant: 'original', resized: 0, without_resized: null } });
  });

  it('refuses bad export options with a 4xx naming the field', async () => {
    const post = (body: Record<string, unknown>) => api().post(`/batches/${batchId}/exports`).send({ format: 'jsonl', ...body }).expect(400);
    const field = async (body: Record<string, unknown>) => (await post(body)).body.errors[0];
    expect(await field({ near_duplicates: { max_distance: -1 } })).toEqual({ field: 'near_duplicates.max_distance', message: 'must be at least 0' });
    expect(await field({ near_duplicates: { images_max_distance: 17 } })).toEqual({ field: 'near_duplicates.images_max_distance', message: 'must be at most 16' });
    expect(await field({ near_duplicates: { text_max_distance: 1.5 } })).toMatchObject({ field: 'near_duplicates.text_max_distance' });
    expect(await field({ near_duplicates: {} })).toMatchObject({ field: 'near_duplicates', message: expect.stringContaining('max_distance') });
    expect(await field({ near_duplicates: { distance: 3 } })).toMatchObject({ field: 'near_duplicates.distance' });
    expect(await field({ near_duplicates: 3 })).toMatchObject({ field: 'near_duplicates' });
    expect(await field({ images: 'thumbnail' })).toEqual({ field: 'images', message: 'must be original or resized' });
    // The task options a batch takes are checked as the task routes check them.
    const batch = (body: Record<string, unknown>) => api().post('/batches').send({ urls: [ctx.site.url('/a')], ...body }).expect(400);
    expect((await batch({ resize: { max_side: 0 } })).body.errors[0]).toMatchObject({ field: 'resize.max_side' });
    expect((await batch({ format: 'pdf' })).body.errors[0]).toMatchObject({ field: 'format' });
    expect((await batch({ min_width: -5 })).body.errors[0]).toMatchObject({ field: 'min_width' });
  });

  describeWithService('SCRAPEDS_PYTHON', 'read back by the Python readers', (python) => {
    /** What each reader must see of an image sample: the bytes it holds are the ones its sha256 names, and its texts. */
    function checkImages(entries: ReadEntry[], withBytes: boolean) {
      const images = entries.filter((e) => e.meta.source_url !== undefined);
      expect(images).toHaveLength(2); // the JPEG copy is a near-duplicate of the photo
      for (const e of images) {
        if (withBytes) expect(e.sha256).toBe(e.meta.sha256);
        expect(e.meta).toMatchObject({ variant: 'resized', mime: 'image/webp', phash: expect.stringMatching(/^[0-9a-f]{16}$/), rights: { verdict: expect.any(String) } });
        expect(e.meta).toHaveProperty('nearby_text');
        expect(e.meta).toHaveProperty('caption_source');
      }
      const photo = images.find((e) => (e.meta.source_url as string).endsWith('photo.png'));
      expect(photo?.meta).toMatchObject({ alt: 'A gradient', figcaption: 'The gradient photo', caption: 'The gradient photo', caption_source: 'figcaption' });
      return images;
    }
    function checkTexts(entries: ReadEntry[]) {
      const texts = entries.filter((e) => e.meta.source_url === undefined);
      expect(texts.map((e) => e.meta.title)).toEqual(['Alpha article', 'Gamma article']);
      expect(texts[0]?.meta).toMatchObject({
        format: 'main', simhash: expect.stringMatching(/^[0-9a-f]{16}$/), rights: { verdict: 'reserved' },
        metadata: { author: 'Ada Writer', description: 'About alpha', canonical_url: 'https://example.org/alpha', site_name: 'Example Site', license: 'https://creativecommons.org/licenses/by/4.0/', language: 'en', published: '2024-05-01T10:00:00.000Z' },
      });
      expect((texts[0]?.meta.metadata as Record<string, unknown>).word_count).toEqual(expect.any(Number));
      return texts;
    }
    // The distances between the near copies (the test above checks nothing else is as near).
    const options = () => ({
      images: 'resized',
      near_duplicates: {
        images_max_distance: hamming(imageOf('photo.png').phash, imageOf('copy.jpg').phash),
        text_max_distance: hamming(textOf('/a').simhash as string, textOf('/b').simhash as string),
      },
    });
    const expectDropped = (exp: ApiExport) => expect(exp.manifest.near_duplicates).toMatchObject({ images: { dropped: 1 }, text: { dropped: 1 } });

    it('webdataset and datasets("webdataset"): every field, every image sha256', async () => {
      const { exp, files } = await exportAndDownload(ctx.svc.url, batchId, { format: 'webdataset', ...options() });
      expectDropped(exp);
      const read = await readBack(python, 'webdataset', files);
      for (const reader of ['webdataset', 'hf_webdataset']) {
        const entries = read[reader] as ReadEntry[];
        for (const e of checkImages(entries, true)) expect(e.ext).toBe('webp');
        checkTexts(entries);
      }
    }, 120_000);

    it('pyarrow and datasets("parquet"): typed columns with every field, every image sha256', async () => {
      const { exp, files } = await exportAndDownload(ctx.svc.url, batchId, { format: 'parquet', include_images: true, ...options() });
      expectDropped(exp);
      const read = await readBack(python, 'parquet', files);
      for (const reader of ['pyarrow', 'hf_parquet']) {
        const entries = read[reader] as ReadEntry[];
        const images = checkImages(entries, true);
        const texts = checkTexts(entries);
        for (const e of images) expect(e.columns).toMatchObject({ sha256: e.meta.sha256, phash: e.meta.phash, variant: 'resized', caption: e.meta.caption, nearby_text: e.meta.nearby_text, rights_verdict: expect.any(String) });
        expect(texts[0]?.columns).toMatchObject({
          author: 'Ada Writer', description: 'About alpha', published: '2024-05-01T10:00:00.000Z', canonical_url: 'https://example.org/alpha',
          site_name: 'Example Site', license: 'https://creativecommons.org/licenses/by/4.0/', language: 'en', word_count: expect.any(Number),
          simhash: texts[0]?.meta.simhash, rights_verdict: 'reserved', metadata_title: 'Alpha article', format: 'main',
        });
        expect(JSON.parse(texts[0]?.columns?.rights_signals as string)).toEqual(expect.arrayContaining([expect.objectContaining({ signal: 'meta-robots' })]));
      }
      // A stable, typed schema: the same columns and types in every shard of a kind.
      const schemas = read.pyarrow_schema as unknown as Array<{ file: string; columns: Record<string, string> }>;
      const text = schemas.find((s) => s.file.startsWith('text-'))?.columns;
      expect(text).toMatchObject({ word_count: 'int32', http_status: 'int32', author: 'string', simhash: 'string', rights_verdict: 'string' });
      const image = schemas.find((s) => s.file.startsWith('images-'))?.columns;
      expect(image).toMatchObject({ width: 'int32', height: 'int32', bytes: 'int32', phash: 'string', alt: 'string', image: 'binary' });
    }, 120_000);

    it('gzip and datasets("json") read every field of the JSONL records; each file\'s sha256 matches', async () => {
      const { exp, files } = await exportAndDownload(ctx.svc.url, batchId, { format: 'jsonl', ...options() });
      expectDropped(exp);
      const read = await readBack(python, 'jsonl', files);
      const entries = read.gzip_jsonl as ReadEntry[];
      checkTexts(entries);
      for (const e of checkImages(entries, false)) {
        const file = await api().get(e.meta.url as string).buffer(true).parse(binary).expect(200);
        expect(sha256(file.body as Buffer)).toBe(e.meta.sha256);
      }
      expect(read.hf_json).toHaveLength(4);
    }, 120_000);
  });
});
