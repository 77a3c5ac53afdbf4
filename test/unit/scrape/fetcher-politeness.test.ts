/** The fetcher with politeness on: robots.txt, per-host limits and retries, against the fixture site. */
import type http from 'node:http';
import { createFetcher, type Fetcher, type FetcherOptions } from '../../../src/scrape/fetcher.js';
import { HostLimiter } from '../../../src/scrape/host-limiter.js';
import { FakeClock } from '../../fixtures/clock.js';
import { failure, limits } from '../../fixtures/fetch.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site.js';

const base = { userAgent: 'scrapeds/1.0 (test)', policy: { allowPrivate: true, allowCidrs: [] }, connectTimeoutMs: 2000 } satisfies FetcherOptions;

let site: FixtureSite;
const fetchers: Fetcher[] = [];
function fetcher(options: Partial<FetcherOptions> = {}): Fetcher {
  const f = createFetcher({ ...base, ...options });
  fetchers.push(f);
  return f;
}

beforeAll(async () => {
  site = await startFixtureSite();
  site.serve('/page', 'a page', 'text/plain');
  site.serve('/private/secret', 'secret', 'text/plain');
});
afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await site.close();
});
beforeEach(() => site.resetHits());

describe('robots.txt', () => {
  beforeEach(() => site.serve('/robots.txt', 'User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n', 'text/plain'));

  it('fetches what robots.txt allows and refuses what it disallows, loading it once', async () => {
    const f = fetcher({ robots: {} });
    expect((await f.fetch(site.url('/page'), limits)).body.toString()).toBe('a page');
    const err = await failure(f.fetch(site.url('/private/secret'), limits));
    expect(err.code).toBe('robots_disallowed');
    expect(err.message).toContain('/private/secret');
    expect(site.hits('/private/secret')).toBe(0);
    expect(site.hits('/robots.txt')).toBe(1);
  });

  it('checks every redirect hop', async () => {
    site.route('/go', (_req, res) => void res.writeHead(302, { location: '/private/secret' }).end());
    const err = await failure(fetcher({ robots: {} }).fetch(site.url('/go'), limits));
    expect(err.code).toBe('robots_disallowed');
    expect(site.hits('/go')).toBe(1);
    expect(site.hits('/private/secret')).toBe(0);
  });

  it('is not consulted when the setting is off', async () => {
    expect((await fetcher().fetch(site.url('/private/secret'), limits)).body.toString()).toBe('secret');
    expect(site.hits('/robots.txt')).toBe(0);
  });

  it('sends our User-Agent for robots.txt too', async () => {
    let agent: string | undefined;
    site.route('/robots.txt', (req, res) => {
      agent = req.headers['user-agent'];
      res.writeHead(404).end();
    });
    await fetcher({ robots: {} }).fetch(site.url('/private/secret'), limits);
    expect(agent).toBe(base.userAgent);
  });

  it('allows everything when robots.txt is missing, and nothing when it answers 503', async () => {
    site.route('/robots.txt', (_req, res) => void res.writeHead(404).end());
    await fetcher({ robots: {} }).fetch(site.url('/private/secret'), limits);
    site.route('/robots.txt', (_req, res) => void res.writeHead(503).end());
    const err = await failure(fetcher({ robots: {} }).fetch(site.url('/page'), limits));
    expect(err).toMatchObject({ code: 'robots_unavailable', details: { httpStatus: 503 } });
    expect(site.hits('/page')).toBe(0);
  });

  it('reads the start of a robots.txt larger than 512 KiB', async () => {
    site.serve('/robots.txt', `User-agent: *\nDisallow: /private/\n${'# padding\n'.repeat(100_000)}Disallow: /page\n`, 'text/plain');
    const f = fetcher({ robots: {} });
    expect((await failure(f.fetch(site.url('/private/secret'), limits))).code).toBe('robots_disallowed');
    expect((await f.fetch(site.url('/page'), limits)).status).toBe(200);
  });

  it('honours Crawl-delay as the per-host spacing when it is larger', async () => {
    site.serve('/robots.txt', 'User-agent: scrapeds\nCrawl-delay: 2\n', 'text/plain');
    const clock = new FakeClock();
    const f = fetcher({ robots: {}, clock, hostLimiter: new HostLimiter({ concurrency: 4, minDelayMs: 500, clock }) });
    await f.fetch(site.url('/page'), limits);
    await f.fetch(site.url('/page'), limits);
    // robots.txt is a request to the host too: then the page waits 2 s, and the next page 2 s more.
    expect(clock.sleeps).toEqual([2000, 2000]);
  });
});

describe('per-host limits', () => {
  it('never has more than the cap in flight at the server', async () => {
    let inFlight = 0;
    let most = 0;
    site.route('/busy', async (_req, res) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 40));
      inFlight--;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
    });
    const f = fetcher({ hostLimiter: new HostLimiter({ concurrency: 2, minDelayMs: 0 }), connectionsPerOrigin: 10 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => f.fetch(site.url(`/busy?i=${i}`), limits)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(site.hits('/busy')).toBe(8);
    expect(most).toBe(2);
  });

  it('does not count the wait for a slot against the fetch deadline', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    site.route('/held', async (_req, res) => {
      await gate;
      res.writeHead(200).end('late');
    });
    const f = fetcher({ hostLimiter: new HostLimiter({ concurrency: 1, minDelayMs: 0 }) });
    const held = f.fetch(site.url('/held'), { ...limits, timeoutMs: 10_000 }).catch((e: unknown) => e);
    while (site.hits('/held') < 1) await new Promise((r) => setTimeout(r, 5));
    const queued = f.fetch(site.url('/page'), { ...limits, timeoutMs: 200 });
    // Longer than the queued fetch's deadline, which must not be running while it waits.
    await new Promise((r) => setTimeout(r, 400));
    release();
    expect((await queued).body.toString()).toBe('a page');
    expect(await held).toMatchObject({ status: 200 });
  });

  it('stops waiting for a slot when the caller aborts', async () => {
    site.route('/stuck', () => undefined);
    const f = fetcher({ hostLimiter: new HostLimiter({ concurrency: 1, minDelayMs: 0 }) });
    const stuck = f.fetch(site.url('/stuck'), { ...limits, timeoutMs: 60_000 }).catch((e: unknown) => e);
    while (site.hits('/stuck') < 1) await new Promise((r) => setTimeout(r, 5));
    const controller = new AbortController();
    const waiting = f.fetch(site.url('/page'), { ...limits, signal: controller.signal });
    controller.abort();
    const err = await failure(waiting);
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/cancelled/);
    expect(site.hits('/page')).toBe(0);
    await f.close();
    await stuck;
  });
});

describe('retries', () => {
  const clock = new FakeClock();
  const retrying = () => fetcher({ retry: { retries: 2, retryAfterMaxMs: 60_000 }, clock, random: () => 0.5 });
  beforeEach(() => clock.sleeps.splice(0));

  /** A route that answers each status in turn, then 200. */
  function sequence(path: string, ...answers: Array<[number, Record<string, string>?]>) {
    let i = 0;
    site.route(path, (_req: http.IncomingMessage, res: http.ServerResponse) => {
      const [status, headers] = answers[i++] ?? [200];
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(status === 200 ? 'finally' : 'not now');
    });
  }

  it('retries a 503 with backoff, then succeeds', async () => {
    sequence('/flaky', [503], [502]);
    const res = await retrying().fetch(site.url('/flaky'), limits);
    expect(res.body.toString()).toBe('finally');
    expect(site.hits('/flaky')).toBe(3);
    expect(clock.sleeps).toEqual([250, 500]);
  });

  it('gives up after the retries, with the last status', async () => {
    sequence('/down', [500], [500], [503], [503]);
    const err = await failure(retrying().fetch(site.url('/down'), limits));
    expect(err).toMatchObject({ code: 'http_error', details: { httpStatus: 503 } });
    expect(site.hits('/down')).toBe(3);
  });

  it('does not retry a 404', async () => {
    const err = await failure(retrying().fetch(site.url('/missing'), limits));
    expect(err.details.httpStatus).toBe(404);
    expect(site.hits('/missing')).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('waits as long as Retry-After asks on 429 and 503', async () => {
    clock.time = Math.ceil(clock.time / 1000) * 1000; // HTTP dates have whole seconds
    sequence('/busy-site', [429, { 'retry-after': '7' }], [503, { 'retry-after': new Date(clock.now() + 7000 + 20_000).toUTCString() }]);
    const res = await retrying().fetch(site.url('/busy-site'), limits);
    expect(res.status).toBe(200);
    expect(clock.sleeps).toEqual([7000, 20_000]);
  });

  it('fails at once with the status when Retry-After is beyond the cap', async () => {
    sequence('/go-away', [429, { 'retry-after': '86400' }]);
    const err = await failure(retrying().fetch(site.url('/go-away'), limits));
    expect(err).toMatchObject({ code: 'http_error', details: { httpStatus: 429 } });
    expect(err.message).toMatch(/retry after 86400 s/);
    expect(site.hits('/go-away')).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('retries a dropped connection', async () => {
    let drops = 1;
    site.route('/drop', (req, res) => {
      if (drops-- > 0) return void req.socket.destroy();
      res.writeHead(200).end('ok');
    });
    expect((await retrying().fetch(site.url('/drop'), limits)).body.toString()).toBe('ok');
    expect(site.hits('/drop')).toBe(2);
  });

  it('retries nothing once the caller has cancelled', async () => {
    sequence('/cancelled', [503], [503]);
    const controller = new AbortController();
    controller.abort();
    const err = await failure(retrying().fetch(site.url('/cancelled'), { ...limits, signal: controller.signal }));
    expect(err.code).toBe('timeout');
    expect(site.hits('/cancelled')).toBe(0);
  });
});
