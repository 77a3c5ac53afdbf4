/**
 * HTML parsing on worker threads, tested on the built dist/ (a worker thread cannot load TypeScript sources):
 * same answers as parsing inline, and a hostile page is cut off by the parse timeout without blocking anything.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Extractors from '../../src/scrape/page-extractor.js';
import { inlineExtractor } from '../../src/scrape/page-extractor.js';
import { ensureBuilt, repoRoot } from '../helpers/processes.js';

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
    ensureBuilt();
    extractors = (await import(pathToFileURL(path.join(repoRoot, 'dist/scrape/page-extractor.js')).href)) as typeof Extractors;
    // A page's budget includes starting a fresh thread after one was stopped: on a busy host that takes a while (as on main).
    pool = extractors.threadedExtractor({ threads: 2, timeoutMs: 5000 });
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

  it('gives up when the task is cancelled', async () => {
    const controller = new AbortController();
    const nested = Buffer.from(`<div>`.repeat(400_000));
    const pending = pool.extract({ ...job, body: nested }, controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ code: 'timeout', message: expect.stringContaining('task deadline') });
  });
});
