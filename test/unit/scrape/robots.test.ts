import { RobotsCache, userAgentToken, type RobotsFile } from '../../../src/scrape/robots.js';
import { ScrapeError } from '../../../src/scrape/scrape-error.js';
import { FakeClock } from '../../fixtures/clock.js';

const UA = 'scrapeds/0.1 (+https://github.com/scrapeds; dataset collection)';
const ROBOTS = `
User-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: scrapeds
Disallow: /no-bots
Allow: /private/ok
Crawl-delay: 3

User-agent: otherbot
Disallow: /
`;

function setup(answer: (url: string) => RobotsFile | Promise<RobotsFile>, options: { userAgent?: string } = {}) {
  const clock = new FakeClock();
  const loads: string[] = [];
  const cache = new RobotsCache({
    userAgent: options.userAgent ?? UA,
    clock,
    load: async (url) => {
      loads.push(url);
      return answer(url);
    },
  });
  const permit = (url: string) => cache.permit(new URL(url));
  const refusal = (url: string) =>
    permit(url).then(
      () => undefined,
      (err: unknown) => {
        if (!(err instanceof ScrapeError)) throw err;
        return err;
      },
    );
  return { clock, loads, cache, permit, refusal };
}

describe('userAgentToken', () => {
  it.each([
    [UA, 'scrapeds'],
    ['Scrapeds', 'scrapeds'],
    ['my_bot-2/1.0', 'my_bot-'],
    ['  ', '*'],
  ])('%j → %j', (ua, token) => expect(userAgentToken(ua)).toBe(token));
});

describe('RobotsCache', () => {
  it('applies the group for our product token, not the * group', async () => {
    const { permit, refusal, loads } = setup(() => ({ status: 200, body: ROBOTS }));
    expect(await permit('https://site.test/')).toEqual({ crawlDelayMs: 3000 });
    expect(await permit('https://site.test/private/x')).toEqual({ crawlDelayMs: 3000 });
    const err = await refusal('https://site.test/no-bots?page=2');
    expect(err).toMatchObject({ code: 'robots_disallowed' });
    expect(err?.message).toContain('https://site.test/robots.txt disallows /no-bots?page=2 for user agent "scrapeds"');
    expect(loads).toEqual(['https://site.test/robots.txt']);
  });

  it('falls back to the * group for another user agent', async () => {
    const { permit, refusal } = setup(() => ({ status: 200, body: ROBOTS }), { userAgent: 'somebot/2' });
    expect(await refusal('https://site.test/private/x')).toMatchObject({ code: 'robots_disallowed' });
    expect(await permit('https://site.test/no-bots')).toEqual({ crawlDelayMs: 2000 });
  });

  it('always allows /robots.txt itself', async () => {
    const { permit, loads } = setup(() => ({ status: 200, body: 'User-agent: *\nDisallow: /' }));
    expect(await permit('https://site.test/robots.txt')).toEqual({ crawlDelayMs: 0 });
    expect(loads).toEqual([]);
  });

  it('caps a huge Crawl-delay', async () => {
    const { permit } = setup(() => ({ status: 200, body: 'User-agent: *\nCrawl-delay: 86400' }));
    expect(await permit('https://site.test/')).toEqual({ crawlDelayMs: 60_000 });
  });

  it.each([404, 401, 403, 410])('allows everything when robots.txt answers %i', async (status) => {
    const { permit } = setup(() => ({ status, body: 'User-agent: *\nDisallow: /' }));
    expect(await permit('https://site.test/anything')).toEqual({ crawlDelayMs: 0 });
  });

  it.each([500, 503, 429])('assumes everything disallowed when robots.txt answers %i', async (status) => {
    const { refusal } = setup(() => ({ status, body: '' }));
    const err = await refusal('https://site.test/page');
    expect(err).toMatchObject({ code: 'robots_unavailable', details: { httpStatus: status } });
    expect(err?.message).toMatch(/RFC 9309/);
  });

  it('assumes everything disallowed when robots.txt cannot be fetched, and asks again after a minute', async () => {
    let down = true;
    const { refusal, permit, clock, loads } = setup(() => {
      if (down) throw new ScrapeError('timeout', 'no complete response within 10000 ms');
      return { status: 404, body: '' };
    });
    expect(await refusal('https://site.test/a')).toMatchObject({ code: 'robots_unavailable' });
    down = false;
    clock.advance(30_000);
    expect(await refusal('https://site.test/b')).toMatchObject({ code: 'robots_unavailable' });
    clock.advance(30_001);
    expect(await permit('https://site.test/c')).toEqual({ crawlDelayMs: 0 });
    expect(loads).toHaveLength(2);
  });

  it('passes on refusals that are not about robots.txt, and caches nothing for them', async () => {
    const { refusal, loads } = setup(() => {
      throw new ScrapeError('blocked_address', 'private', { address: '10.0.0.1' });
    });
    expect(await refusal('https://inside.test/')).toMatchObject({ code: 'blocked_address', details: { address: '10.0.0.1' } });
    expect(await refusal('https://inside.test/')).toMatchObject({ code: 'blocked_address' });
    expect(loads).toHaveLength(2);
    // The page itself may be fine (robots.txt redirected somewhere blocked): the message says which fetch it was.
    expect((await refusal('https://inside.test/'))?.message).toBe('https://inside.test/robots.txt could not be fetched: private');
  });

  it('treats too many redirects as no robots.txt (RFC 9309 2.3.1.2)', async () => {
    const { permit } = setup(() => {
      throw new ScrapeError('too_many_redirects', 'more than 5');
    });
    expect(await permit('https://site.test/')).toEqual({ crawlDelayMs: 0 });
  });

  it('caches per origin for an hour, and loads once for concurrent checks', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { permit, clock, loads } = setup(async () => {
      await gate;
      return { status: 200, body: 'User-agent: *\nDisallow: /x' };
    });
    const checks = [permit('https://site.test/1'), permit('https://site.test/2'), permit('https://site.test:8443/3'), permit('http://site.test/4')];
    release();
    await Promise.all(checks);
    expect(loads.sort()).toEqual(['http://site.test/robots.txt', 'https://site.test/robots.txt', 'https://site.test:8443/robots.txt']);
    clock.advance(59 * 60_000);
    await permit('https://site.test/5');
    expect(loads).toHaveLength(3);
    clock.advance(2 * 60_000);
    await permit('https://site.test/6');
    expect(loads).toHaveLength(4);
  });

  it('lets a caller stop waiting without cancelling the load for others', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { cache, loads } = setup(async () => {
      await gate;
      return { status: 200, body: '' };
    });
    const controller = new AbortController();
    const impatient = cache.permit(new URL('https://site.test/a'), controller.signal);
    const patient = cache.permit(new URL('https://site.test/b'));
    controller.abort(new Error('task deadline'));
    await expect(impatient).rejects.toThrow('task deadline');
    release();
    await expect(patient).resolves.toEqual({ crawlDelayMs: 0 });
    expect(loads).toHaveLength(1);
  });

  it('keeps a bounded number of origins', async () => {
    const clock = new FakeClock();
    const loads: string[] = [];
    const cache = new RobotsCache({ userAgent: UA, clock, maxOrigins: 3, load: async (url) => (loads.push(url), { status: 404, body: '' }) });
    for (const host of ['a', 'b', 'c', 'd']) await cache.permit(new URL(`https://${host}.test/`));
    await cache.permit(new URL('https://d.test/'));
    expect(loads).toHaveLength(4);
    await cache.permit(new URL('https://a.test/'));
    expect(loads).toHaveLength(5);
  });
});
