import { ALL_PARTS, NO_PARTS, type ExtractParts } from '../../src/scrape/html.js';
import { ScrapeError } from '../../src/scrape/scrape-error.js';
import type { FetchedPage } from '../../src/worker/page.js';
import { RecentPages, type PageLoaders } from '../../src/worker/recent-pages.js';

const page = (text: string, parts: ExtractParts = ALL_PARTS): FetchedPage => ({
  info: { finalUrl: 'http://x/', httpStatus: 200, bytes: text.length },
  texts: { text, main: '', markdown: '' },
  parts,
  metadata: {},
  images: ['http://x/a.png'],
  imageTexts: {},
  links: [],
});

/** Loaders of tests that never need a page completed. */
const only = (load: () => Promise<FetchedPage>): PageLoaders => ({
  load,
  complete: () => Promise.reject(new Error('not expected to complete a page')),
});

describe('RecentPages', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000;
  });

  it('reuses a page within its age and loads again after it', async () => {
    const recent = new RecentPages({ ttlMs: 100, maxBytes: 1 << 20, now: clock });
    let loads = 0;
    const load = async () => page(`v${++loads}`);
    expect((await recent.get('u', ALL_PARTS, only(load), false)).texts.text).toBe('v1');
    now += 100;
    expect((await recent.get('u', ALL_PARTS, only(load), false)).texts.text).toBe('v1');
    now += 1;
    expect((await recent.get('u', ALL_PARTS, only(load), false)).texts.text).toBe('v2');
  });

  it('loads anew when asked for a fresh page, and keeps that one', async () => {
    const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
    let loads = 0;
    const load = async () => page(`v${++loads}`);
    await recent.get('u', ALL_PARTS, only(load), false);
    expect((await recent.get('u', ALL_PARTS, only(load), true)).texts.text).toBe('v2');
    expect((await recent.get('u', ALL_PARTS, only(load), false)).texts.text).toBe('v2');
  });

  it('joins a load in flight instead of starting a second one', async () => {
    const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
    let release!: (p: FetchedPage) => void;
    let loads = 0;
    const load = () => {
      loads++;
      return new Promise<FetchedPage>((r) => (release = r));
    };
    const a = recent.get('u', ALL_PARTS, only(load), false);
    const b = recent.get('u', ALL_PARTS, only(load), false);
    release(page('shared'));
    expect((await Promise.all([a, b])).map((p) => p.texts.text)).toEqual(['shared', 'shared']);
    expect(loads).toBe(1);
  });

  it('shares a lasting failure with a joiner, but loads itself after a passing one', async () => {
    const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
    let fail!: (e: Error) => void;
    const first = recent.get('u', ALL_PARTS, only(() => new Promise<FetchedPage>((_r, j) => (fail = j))), false);
    const joiner = recent.get('u', ALL_PARTS, only(async () => page('never')), false);
    fail(new ScrapeError('http_error', 'HTTP 404', { httpStatus: 404 }));
    await expect(first).rejects.toMatchObject({ code: 'http_error' });
    await expect(joiner).rejects.toMatchObject({ code: 'http_error' });

    let fail2!: (e: Error) => void;
    const leader = recent.get('v', ALL_PARTS, only(() => new Promise<FetchedPage>((_r, j) => (fail2 = j))), false);
    const follower = recent.get('v', ALL_PARTS, only(async () => page('own fetch')), false);
    fail2(new ScrapeError('timeout', 'the other task ran out of time'));
    await expect(leader).rejects.toMatchObject({ code: 'timeout' });
    expect((await follower).texts.text).toBe('own fetch');
  });

  it('stays under its byte bound, dropping the oldest pages first', async () => {
    const recent = new RecentPages({ ttlMs: 10_000, maxBytes: 20_000, now: clock });
    for (let i = 0; i < 10; i++) await recent.get(`u${i}`, ALL_PARTS, only(async () => page('x'.repeat(2000))), false);
    expect(recent.size).toBeLessThan(10);
    let loads = 0;
    await recent.get('u0', ALL_PARTS, only(async () => (loads++, page('again'))), false);
    expect(loads).toBe(1);
    await recent.get('u9', ALL_PARTS, only(async () => (loads++, page('again'))), false);
    expect(loads).toBe(1);
  });

  it('counts an image reference at what it holds in the heap, not only its characters', async () => {
    // 100 images with an alt text each: ~2.3 KB of characters, ~30 KB of heap as the parse thread hands it over.
    const imagePage = (n: number): FetchedPage => {
      const images = Array.from({ length: 100 }, (_, j) => `http://x/${n}-${j}.png`);
      return { ...page(''), images, imageTexts: Object.fromEntries(images.map((u, j) => [u, { alt: `image ${j}` }])) };
    };
    const recent = new RecentPages({ ttlMs: 10_000, maxBytes: 300_000, now: clock });
    for (let i = 0; i < 10; i++) await recent.get(`u${i}`, ALL_PARTS, only(async () => imagePage(i)), false);
    expect(recent.size).toBeLessThanOrEqual(9);
  });

  it('does nothing when turned off', async () => {
    const recent = new RecentPages({ ttlMs: 0, maxBytes: 1 << 20, now: clock });
    let loads = 0;
    await recent.get('u', ALL_PARTS, only(async () => (loads++, page('a'))), false);
    await recent.get('u', ALL_PARTS, only(async () => (loads++, page('b'))), false);
    expect(loads).toBe(2);
  });

  describe('pages extracted with fewer parts than a later task needs', () => {
    const markdown: ExtractParts = { main: true, markdown: true };
    /** Loads with `loaded` parts; completing adds what is asked (as completePage does), counted. */
    function counting(loaded: ExtractParts) {
      const count = { loads: 0, completions: 0 };
      let release: (() => void) | undefined;
      const gate = () => new Promise<void>((r) => (release = r));
      const loaders = (wanted: ExtractParts, held = false): PageLoaders => ({
        load: async () => {
          count.loads++;
          if (held) await gate();
          return page('body', loaded);
        },
        complete: async (p) => {
          count.completions++;
          return { ...p, parts: { main: p.parts.main || wanted.main, markdown: p.parts.markdown || wanted.markdown }, texts: { ...p.texts, markdown: '# md' } };
        },
      });
      return { count, loaders, release: () => release?.() };
    }

    it('completes a reused page from its kept HTML instead of fetching it again, once', async () => {
      const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
      const { count, loaders } = counting(NO_PARTS);
      const images = await recent.get('u', NO_PARTS, loaders(NO_PARTS), false);
      expect(images.texts.markdown).toBe('');
      const text = await recent.get('u', markdown, loaders(markdown), false);
      expect(text.parts).toEqual(markdown);
      expect(text.texts.markdown).toBe('# md');
      // The completed page replaces the first: the next task needing Markdown reuses it as it is.
      expect((await recent.get('u', markdown, loaders(markdown), false)).texts.markdown).toBe('# md');
      expect((await recent.get('u', NO_PARTS, loaders(NO_PARTS), false)).parts).toEqual(markdown);
      expect(count).toEqual({ loads: 1, completions: 1 });
    });

    it('has joiners that need more wait for the load, then share one completion', async () => {
      const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
      const { count, loaders, release } = counting(NO_PARTS);
      const first = recent.get('u', NO_PARTS, loaders(NO_PARTS, true), false);
      const joiners = [recent.get('u', markdown, loaders(markdown), false), recent.get('u', markdown, loaders(markdown), false)];
      const plain = recent.get('u', NO_PARTS, loaders(NO_PARTS), false);
      release();
      expect((await first).parts).toEqual(NO_PARTS);
      expect((await plain).parts).toEqual(NO_PARTS);
      expect((await Promise.all(joiners)).map((p) => p.texts.markdown)).toEqual(['# md', '# md']);
      expect(count).toEqual({ loads: 1, completions: 1 });
    });

    it('does not complete a page that already has the parts', async () => {
      const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
      const { count, loaders } = counting(ALL_PARTS);
      await recent.get('u', ALL_PARTS, loaders(ALL_PARTS), false);
      await recent.get('u', markdown, loaders(markdown), false);
      expect(count).toEqual({ loads: 1, completions: 0 });
    });
  });
});
