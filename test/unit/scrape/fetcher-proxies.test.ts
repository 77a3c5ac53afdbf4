/** Fetching through rotating proxies: two (or three) local forward proxies in front of the fixture site. */
import type dns from 'node:dns';
import { ProxyAgent } from 'undici';
import { createFetcher, type Fetcher, type FetcherOptions } from '../../../src/scrape/fetcher.js';
import { ProxyPool } from '../../../src/scrape/proxy-pool.js';
import { FakeClock } from '../../fixtures/clock.js';
import { closedPort, failure, fakeResolver, limits } from '../../fixtures/fetch.js';
import { capturingLogger } from '../../fixtures/log.js';
import { startFixtureProxy, type FixtureProxy } from '../../fixtures/proxy.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site.js';

const userAgent = 'scrapeds/1.0 (test)';

let site: FixtureSite;
let one: FixtureProxy;
let two: FixtureProxy;
const fetchers: Fetcher[] = [];

beforeAll(async () => {
  site = await startFixtureSite();
  one = await startFixtureProxy('proxy-1', { hosts: { 'fixture.test': '127.0.0.1' } });
  two = await startFixtureProxy('proxy-2', { hosts: { 'fixture.test': '127.0.0.1' } });
  // The site bans proxy-1: it answers 403 to anything arriving through it.
  site.route('/content', (req, res) => {
    const via = req.headers.via ?? 'direct';
    if (via.includes('proxy-1')) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('banned');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`served via ${via}`);
  });
});
afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await Promise.all([site.close(), one.close(), two.close()]);
});

function proxied(urls: string[], options: Partial<FetcherOptions> & { rotateAfterMs?: number; clock?: FakeClock } = {}) {
  const { log, lines } = capturingLogger();
  const clock = options.clock ?? new FakeClock();
  const proxies = new ProxyPool({ urls, rotateAfterMs: options.rotateAfterMs ?? 0, connectTimeoutMs: 2000, log, clock });
  const fetcher = createFetcher({ userAgent, policy: { allowPrivate: true, allowCidrs: [] }, connectTimeoutMs: 2000, proxies, clock, log, ...options });
  fetchers.push(fetcher);
  const switches = () => lines.filter((l) => l.msg === 'proxy switched').map((l) => ({ from: l.from, to: l.to, reason: l.reason }));
  return { fetcher, lines, switches, clock };
}

describe('proxy rotation', () => {
  it('moves to the next proxy when the site answers 403 through the first, and records which served', async () => {
    const before = [one.requests, two.requests];
    const { fetcher, switches, lines } = proxied([one.url, two.url]);
    const res = await fetcher.fetch(site.url('/content'), limits);
    expect(res.body.toString()).toBe('served via 1.1 proxy-2');
    expect(res.proxy).toBe(two.url);
    expect([one.requests - before[0]!, two.requests - before[1]!]).toEqual([1, 1]);
    expect(switches()).toEqual([{ from: one.url, to: two.url, reason: 'blocked' }]);
    expect(lines.find((l) => l.reason === 'blocked')).toMatchObject({ status: 403, url: site.url('/content') });
    // The next fetch goes straight through the second.
    expect((await fetcher.fetch(site.url('/content'), limits)).proxy).toBe(two.url);
    expect(one.requests - before[0]!).toBe(1);
  });

  it('moves on after a 429 too, without waiting for Retry-After (another egress)', async () => {
    site.route('/throttled', (req, res) => {
      if (String(req.headers.via).includes('proxy-1')) return void res.writeHead(429, { 'retry-after': '30' }).end();
      res.writeHead(200).end('ok');
    });
    const { fetcher, switches, clock } = proxied([one.url, two.url], { retry: { retries: 2, retryAfterMaxMs: 60_000 } });
    const res = await fetcher.fetch(site.url('/throttled'), limits);
    expect(res.proxy).toBe(two.url);
    expect(switches()).toEqual([{ from: one.url, to: two.url, reason: 'rate_limited' }]);
    expect(clock.sleeps).toEqual([]);
  });

  it('gives the 403 to the caller when every proxy is refused', async () => {
    site.route('/banned-everywhere', (_req, res) => void res.writeHead(403).end());
    const { fetcher } = proxied([one.url, two.url]);
    const err = await failure(fetcher.fetch(site.url('/banned-everywhere'), limits));
    expect(err).toMatchObject({ code: 'http_error', details: { httpStatus: 403 } });
    expect(site.hits('/banned-everywhere')).toBe(2);
  });

  it('rotates after the interval, by the injected clock', async () => {
    site.route('/whoami', (req, res) => void res.writeHead(200).end(String(req.headers.via)));
    const { fetcher, switches, clock } = proxied([two.url, one.url], { rotateAfterMs: 5 * 60_000 });
    expect((await fetcher.fetch(site.url('/whoami'), limits)).body.toString()).toBe('1.1 proxy-2');
    clock.advance(5 * 60_000 - 1);
    expect((await fetcher.fetch(site.url('/whoami'), limits)).proxy).toBe(two.url);
    clock.advance(1);
    const res = await fetcher.fetch(site.url('/whoami'), limits);
    expect(res.body.toString()).toBe('1.1 proxy-1');
    expect(res.proxy).toBe(one.url);
    expect(switches()).toEqual([{ from: two.url, to: one.url, reason: 'interval' }]);
  });

  it('skips a dead proxy (nothing listening) and keeps skipping it during its backoff', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const { fetcher, switches, lines } = proxied([dead, two.url]);
    const res = await fetcher.fetch(site.url('/content'), limits);
    expect(res.proxy).toBe(two.url);
    expect(switches()).toEqual([{ from: dead, to: two.url, reason: 'unreachable' }]);
    expect(lines.filter((l) => l.msg === 'proxy unreachable')).toEqual([expect.objectContaining({ proxy: dead, level: 40, backoffMs: 30_000 })]);
    expect((await fetcher.fetch(site.url('/content'), limits)).proxy).toBe(two.url);
    expect(lines.filter((l) => l.msg === 'proxy unreachable')).toHaveLength(1);
  });

  it('fails with proxy_error when every proxy is dead', async () => {
    const { fetcher } = proxied([`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`]);
    const err = await failure(fetcher.fetch(site.url('/content'), limits));
    expect(err.code).toBe('proxy_error');
  });

  it('authenticates to a proxy with the URL credentials and never shows them', async () => {
    const withCreds = one.url.replace('http://', 'http://scraper:s3cret@');
    site.route('/open', (_req, res) => void res.writeHead(200).end('open'));
    const { fetcher, lines } = proxied([withCreds]);
    const before = one.authorizations.length;
    const res = await fetcher.fetch(site.url('/open'), limits);
    expect(res.proxy).toBe(one.url.replace('http://', 'http://***@'));
    expect(one.authorizations.slice(before)).toEqual([`Basic ${Buffer.from('scraper:s3cret').toString('base64')}`]);
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });

  it('fetches robots.txt through the proxy too', async () => {
    let robotsVia: string | undefined;
    site.route('/robots.txt', (req, res) => {
      robotsVia = req.headers.via;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /nope\n');
    });
    const { fetcher } = proxied([two.url], { robots: {} });
    expect((await failure(fetcher.fetch(site.url('/nope'), limits))).code).toBe('robots_disallowed');
    expect(robotsVia).toBe('1.1 proxy-2');
  });
});

describe('the SSRF guard with a proxy (the proxy resolves names, so we check them first)', () => {
  const names: Record<string, dns.LookupAddress[]> = {
    'fixture.test': [{ address: '127.0.0.1', family: 4 }],
    'internal.test': [{ address: '10.0.0.1', family: 4 }],
  };
  const resolver = fakeResolver(names);
  const port = () => new URL(site.origin).port;

  it.each([
    ['a name resolving to a private address', 'http://internal.test:PORT/content', '10.0.0.1'],
    ['a literal loopback address', 'http://127.0.0.1:PORT/content', '127.0.0.1'],
    ['a disguised literal address', 'http://0x7f.1:PORT/content', '127.0.0.1'],
  ])('refuses %s before the proxy sees a request', async (_what, template, address) => {
    const before = one.requests;
    const { fetcher } = proxied([one.url], { policy: { allowPrivate: false, allowCidrs: [] }, resolver });
    const err = await failure(fetcher.fetch(template.replace('PORT', port()), limits));
    expect(err).toMatchObject({ code: 'blocked_address', details: { address } });
    expect(one.requests).toBe(before);
  });

  it('refuses a redirect to a private name before the proxy sees it', async () => {
    site.route('/hop-inside', (_req, res) => void res.writeHead(302, { location: `http://internal.test:${port()}/content` }).end());
    const before = two.requests;
    const { fetcher } = proxied([two.url], { policy: { allowPrivate: false, allowCidrs: ['127.0.0.1/32'] }, resolver });
    const err = await failure(fetcher.fetch(`http://fixture.test:${port()}/hop-inside`, limits));
    expect(err).toMatchObject({ code: 'blocked_address', details: { address: '10.0.0.1' } });
    expect(two.requests).toBe(before + 1);
  });

  it('fetches an allowed name through the proxy (the proxy itself is not judged by the guard)', async () => {
    const { fetcher } = proxied([two.url], { policy: { allowPrivate: false, allowCidrs: ['127.0.0.1/32'] }, resolver });
    const res = await fetcher.fetch(`http://fixture.test:${port()}/content`, limits);
    expect(res.body.toString()).toBe('served via 1.1 proxy-2');
  });

  it('moves only the site that refused a proxy: another site keeps using it', async () => {
    site.route('/open', (req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(`served via ${req.headers.via ?? 'direct'}`));
    const { fetcher, lines } = proxied([one.url, two.url], { policy: { allowPrivate: false, allowCidrs: ['127.0.0.1/32'] }, resolver });
    // 127.0.0.1 bans proxy-1 (the /content route); fixture.test is the same server by name, a different site to the pool.
    expect((await fetcher.fetch(`http://127.0.0.1:${port()}/content`, limits)).proxy).toBe(two.url);
    expect((await fetcher.fetch(`http://fixture.test:${port()}/open`, limits)).body.toString()).toBe('served via 1.1 proxy-1');
    expect((await fetcher.fetch(`http://127.0.0.1:${port()}/open`, limits)).proxy).toBe(two.url);
    expect(lines.filter((l) => l.msg === 'proxy switched').map((l) => [l.site, l.reason])).toEqual([['127.0.0.1', 'blocked']]);
  });

  it('reports a name we cannot resolve as dns_error without asking the proxy', async () => {
    const before = two.requests;
    const { fetcher } = proxied([two.url], { policy: { allowPrivate: false, allowCidrs: [] }, resolver });
    expect((await failure(fetcher.fetch('http://nowhere.test/', limits))).code).toBe('dns_error');
    expect(two.requests).toBe(before);
  });
});

describe('the fixture proxy', () => {
  it('tunnels with CONNECT', async () => {
    const before = one.connects;
    const agent = new ProxyAgent({ uri: one.url, proxyTunnel: true });
    try {
      site.route('/tunnelled', (req, res) => void res.writeHead(200).end(String(req.headers.via ?? 'no via')));
      const res = await agent.request({ origin: site.origin, path: '/tunnelled', method: 'GET' });
      expect(await res.body.text()).toBe('no via');
      expect(one.connects).toBe(before + 1);
    } finally {
      await agent.close();
    }
  });

  it('forwards nowhere but 127.0.0.1', async () => {
    const agent = new ProxyAgent({ uri: one.url, proxyTunnel: false });
    try {
      const res = await agent.request({ origin: 'http://192.0.2.1', path: '/', method: 'GET' });
      expect(res.statusCode).toBe(403);
      await res.body.dump();
    } finally {
      await agent.close();
    }
  });
});
