import { ScrapeError } from '../../src/scrape/scrape-error.js';
import type { FetchedPage } from '../../src/worker/page.js';
import { RecentPages } from '../../src/worker/recent-pages.js';

const page = (text: string): FetchedPage => ({
  info: { finalUrl: 'http://x/', httpStatus: 200, bytes: text.length },
  texts: { text, main: '', markdown: '' },
  metadata: {},
  images: ['http://x/a.png'],
  imageTexts: {},
  links: [],
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
    expect((await recent.get('u', load, false)).texts.text).toBe('v1');
    now += 100;
    expect((await recent.get('u', load, false)).texts.text).toBe('v1');
    now += 1;
    expect((await recent.get('u', load, false)).texts.text).toBe('v2');
  });

  it('loads anew when asked for a fresh page, and keeps that one', async () => {
    const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
    let loads = 0;
    const load = async () => page(`v${++loads}`);
    await recent.get('u', load, false);
    expect((await recent.get('u', load, true)).texts.text).toBe('v2');
    expect((await recent.get('u', load, false)).texts.text).toBe('v2');
  });

  it('joins a load in flight instead of starting a second one', async () => {
    const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
    let release!: (p: FetchedPage) => void;
    let loads = 0;
    const load = () => {
      loads++;
      return new Promise<FetchedPage>((r) => (release = r));
    };
    const a = recent.get('u', load, false);
    const b = recent.get('u', load, false);
    release(page('shared'));
    expect((await Promise.all([a, b])).map((p) => p.texts.text)).toEqual(['shared', 'shared']);
    expect(loads).toBe(1);
  });

  it('shares a lasting failure with a joiner, but loads itself after a passing one', async () => {
    const recent = new RecentPages({ ttlMs: 1000, maxBytes: 1 << 20, now: clock });
    let fail!: (e: Error) => void;
    const first = recent.get('u', () => new Promise<FetchedPage>((_r, j) => (fail = j)), false);
    const joiner = recent.get('u', async () => page('never'), false);
    fail(new ScrapeError('http_error', 'HTTP 404', { httpStatus: 404 }));
    await expect(first).rejects.toMatchObject({ code: 'http_error' });
    await expect(joiner).rejects.toMatchObject({ code: 'http_error' });

    let fail2!: (e: Error) => void;
    const leader = recent.get('v', () => new Promise<FetchedPage>((_r, j) => (fail2 = j)), false);
    const follower = recent.get('v', async () => page('own fetch'), false);
    fail2(new ScrapeError('timeout', 'the other task ran out of time'));
    await expect(leader).rejects.toMatchObject({ code: 'timeout' });
    expect((await follower).texts.text).toBe('own fetch');
  });

  it('stays under its byte bound, dropping the oldest pages first', async () => {
    const recent = new RecentPages({ ttlMs: 10_000, maxBytes: 20_000, now: clock });
    for (let i = 0; i < 10; i++) await recent.get(`u${i}`, async () => page('x'.repeat(2000)), false);
    expect(recent.size).toBeLessThan(10);
    let loads = 0;
    await recent.get('u0', async () => (loads++, page('again')), false);
    expect(loads).toBe(1);
    await recent.get('u9', async () => (loads++, page('again')), false);
    expect(loads).toBe(1);
  });

  it('does nothing when turned off', async () => {
    const recent = new RecentPages({ ttlMs: 0, maxBytes: 1 << 20, now: clock });
    let loads = 0;
    await recent.get('u', async () => (loads++, page('a')), false);
    await recent.get('u', async () => (loads++, page('b')), false);
    expect(loads).toBe(2);
  });
});
