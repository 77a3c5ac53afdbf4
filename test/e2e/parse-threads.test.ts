/**
 * HTML parsing and image hashing on worker threads, tested on the built dist/ (a worker thread cannot load
 * TypeScript sources): same answers as inline, and a hostile page is cut off by the parse timeout without
 * blocking anything.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Extractors from '../../src/scrape/page-extractor.js';
import { inlineExtractor } from '../../src/scrape/page-extractor.js';
import type * as Hashers from '../../src/scrape/image-hasher.js';
import { inlineHasher } from '../../src/scrape/image-hasher.js';
import { gif, png } from '../fixtures/images.js';
import { repoRoot } from '../helpers/processes.js';

const PAGE = Buffer.from(
  '<html><head><title>Threads</title><meta charset="windows-1251"></head><body><p>\xcf\xf0\xe8\xe2\xe5\xf2</p><img src="a.png"><noscript><img src="/b.png"></noscript></body></html>',
  'latin1',
);
const job = { body: PAGE, contentType: 'text/html', pageUrl: 'http://site.test/dir/page' };

describe('threaded page extractor (dist)', () => {
  let extractors: typeof Extractors;
  let pool: Extractors.PageExtractor;
  const never = new AbortController().signal;

  beforeAll(async () => {
    extractors = (await import(pathToFileURL(path.join(repoRoot, 'dist/scrape/page-extractor.js')).href)) as typeof Extractors;
    // A page's budget includes starting a fresh thread after one was stopped: on a busy host that takes a while.
    pool = extractors.threadedExtractor({ threads: 2, timeoutMs: 5000, maxWaiting: 16 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('gives the same page as parsing inline', async () => {
    const threaded = await pool.extract(job, never);
    expect(threaded).toEqual(await inlineExtractor().extract(job, never));
    expect(threaded).toMatchObject({ title: 'Threads', images: ['http://site.test/dir/a.png', 'http://site.test/b.png'] });
    expect(threaded.text).toContain('Привет');
  });

  it('stops a page that parses longer than the timeout with a typed error, and keeps working', async () => {
    const nested = Buffer.from(`<html><body>${'<div>'.repeat(400_000)}x</body></html>`);
    const err = await pool.extract({ ...job, body: nested }, never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout', message: expect.stringContaining('parsing the page took longer than 5000 ms') });
    // The event loop was free meanwhile (the parse ran elsewhere), and the pool replaced the thread.
    expect((await pool.extract(job, never)).title).toBe('Threads');
  });

  it('counts parsing only: a page queued behind a slow one on the only thread still gets its full timeout', async () => {
    const single = extractors.threadedExtractor({ threads: 1, timeoutMs: 5000, maxWaiting: 4 });
    try {
      const nested = Buffer.from(`<div>`.repeat(400_000));
      // Both start waiting for the one thread in the same tick; the hostile page gets it first.
      const [slow, ordinary] = await Promise.all([
        single.extract({ ...job, body: nested }, never).catch((e: unknown) => e),
        single.extract(job, never).catch((e: unknown) => e),
      ]);
      expect(slow).toMatchObject({ code: 'timeout', message: expect.stringContaining('took longer than 5000 ms') });
      expect(ordinary).toMatchObject({ title: 'Threads' });
    } finally {
      await single.close();
    }
  });

  it('refuses a page nested deeper than maxDepth as soon as the parser gets there', async () => {
    const capped = extractors.threadedExtractor({ threads: 1, timeoutMs: 60_000, maxWaiting: 4, maxDepth: 1000 });
    try {
      const nested = Buffer.from(`<div>`.repeat(400_000));
      expect(await capped.extract({ ...job, body: nested }, never).catch((e: unknown) => e))
        .toMatchObject({ code: 'too_large', message: expect.stringContaining('more than 1000 deep') });
      const deepEnough = Buffer.from(`${'<div>'.repeat(999)}bottom`);
      expect((await capped.extract({ ...job, body: deepEnough }, never)).text).toBe('bottom');
    } finally {
      await capped.close();
    }
  });

  it('keeps a bounded wait queue: past it a page fails at once with parser_busy', async () => {
    const small = extractors.threadedExtractor({ threads: 1, timeoutMs: 5000, maxWaiting: 1 });
    try {
      const nested = Buffer.from(`<div>`.repeat(400_000));
      const running = small.extract({ ...job, body: nested }, never).catch((e: unknown) => e);
      const waiting = small.extract(job, never);
      expect(await small.extract(job, never).catch((e: unknown) => e)).toMatchObject({ code: 'parser_busy' });
      expect(await running).toMatchObject({ code: 'timeout' });
      expect((await waiting).title).toBe('Threads');
    } finally {
      await small.close();
    }
  });

  it('parses a large page whole on a thread with its smaller young generation (THREAD_HEAP_LIMITS)', async () => {
    // ~3 MB, 60,000 elements: its tree outgrows the thread's young generation many times over and is promoted.
    const paragraphs = Array.from({ length: 20_000 }, (_, i) => `<p>Paragraph ${i} ${'word '.repeat(20)}</p>`);
    const figures = Array.from({ length: 1000 }, (_, i) => `<figure><img src="/i/${i}.png" alt="image ${i}"><figcaption>Figure ${i}</figcaption></figure>`);
    const big = Buffer.from(`<html><head><title>Big</title></head><body>${paragraphs.join('')}${figures.join('')}</body></html>`);
    const patient = extractors.threadedExtractor({ threads: 1, timeoutMs: 120_000, maxWaiting: 4 });
    try {
      const page = await patient.extract({ ...job, body: big }, never);
      expect(page.images).toHaveLength(1000);
      expect(page.imageTexts['http://site.test/i/999.png']).toMatchObject({ alt: 'image 999', figcaption: 'Figure 999' });
      expect(page.text).toContain('Paragraph 19999 word');
    } finally {
      await patient.close();
    }
  }, 180_000);

  it('gives up when the task is cancelled', async () => {
    const controller = new AbortController();
    const nested = Buffer.from(`<div>`.repeat(400_000));
    const pending = pool.extract({ ...job, body: nested }, controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ code: 'timeout', message: expect.stringContaining('task deadline') });
  });
});

describe('threaded image hasher (dist)', () => {
  it('gives the same hashes as hashing inline, many at a time, and undefined for what it cannot decode', async () => {
    const hashers = (await import(pathToFileURL(path.join(repoRoot, 'dist/scrape/image-hasher.js')).href)) as typeof Hashers;
    const hasher = hashers.threadedHasher({ concurrency: 4 });
    try {
      // Small images sit inside Node's shared 8 KiB pool: only their own bytes may reach the thread.
      const images = [png(64, 48, 1), png(3, 2, 2), gif(), png(300, 200, 3), Buffer.from('not an image')];
      const sizes = [{ width: 64, height: 48 }, { width: 3, height: 2 }, undefined, { width: 300, height: 200 }, undefined];
      const threaded = await Promise.all(images.map((b, i) => hasher.hash(b, sizes[i])));
      expect(threaded).toEqual(await Promise.all(images.map((b, i) => inlineHasher.hash(b, sizes[i]))));
      expect(threaded.slice(0, 4)).toEqual(Array.from({ length: 4 }, () => expect.stringMatching(/^[0-9a-f]{16}$/)));
      expect(threaded[4]).toBeUndefined();
    } finally {
      await hasher.close();
    }
  });
});
