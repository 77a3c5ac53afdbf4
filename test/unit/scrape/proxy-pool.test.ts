import { ProxyPool, redactProxyUrl, validateProxyUrl } from '../../../src/scrape/proxy-pool.js';
import { ScrapeError } from '../../../src/scrape/scrape-error.js';
import { FakeClock } from '../../fixtures/clock.js';
import { capturingLogger } from '../../fixtures/log.js';

// Nothing is dialled here: the pool's logic only; fetching through proxies is in fetcher-proxies.test.ts.
const A = 'http://127.0.0.1:1';
const B = 'http://user:secret@127.0.0.1:2';
const C = 'http://127.0.0.1:3';

function pool(urls: string[], rotateAfterMs = 300_000) {
  const clock = new FakeClock();
  const { log, lines } = capturingLogger();
  const p = new ProxyPool({ urls, rotateAfterMs, connectTimeoutMs: 1000, log, clock, deadBackoffMs: 1000, deadBackoffMaxMs: 8000 });
  const switches = () => lines.filter((l) => l.msg === 'proxy switched').map((l) => [l.from, l.to, l.reason]);
  return { p, clock, lines, switches };
}

const pools: ProxyPool[] = [];
afterAll(() => Promise.all(pools.map((p) => p.close())));
function tracked<T extends { p: ProxyPool }>(x: T): T {
  pools.push(x.p);
  return x;
}

describe('proxy URLs', () => {
  it('redacts credentials', () => {
    expect(redactProxyUrl('http://user:secret@proxy.test:3128')).toBe('http://***@proxy.test:3128');
    expect(redactProxyUrl('http://proxy.test:3128/')).toBe('http://proxy.test:3128');
    expect(redactProxyUrl('http://token@proxy.test')).toBe('http://***@proxy.test');
  });

  it('accepts http(s) proxies only, without echoing credentials', () => {
    expect(() => validateProxyUrl('http://proxy.test:3128')).not.toThrow();
    expect(() => validateProxyUrl('socks5://proxy.test:1080')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => validateProxyUrl('http://user:hunter2@')).toThrow(/invalid proxy URL: http:\/\/\*\*\*@/);
    expect(() => validateProxyUrl('http://user:hunter2@')).not.toThrow(/hunter2/);
  });

  it('needs at least one proxy', () => {
    expect(() => new ProxyPool({ urls: [], rotateAfterMs: 0, connectTimeoutMs: 1000, log: capturingLogger().log })).toThrow();
  });
});

describe('ProxyPool', () => {
  it('moves a site on when it refuses traffic through its current proxy, once per refusal', () => {
    const { p, switches, lines } = tracked(pool([A, B, C]));
    const first = p.current('site.test');
    expect(first.label).toBe(A);
    expect(p.refused(first, 403, 'http://site.test/page')).toBe(true);
    expect(p.current('site.test').label).toBe('http://***@127.0.0.1:2');
    // A second fetch that went through A reports late: B stays.
    expect(p.refused(first, 429, 'http://site.test/other')).toBe(true);
    expect(p.current('site.test').label).toBe('http://***@127.0.0.1:2');
    expect(p.refused(p.current('site.test'), 429, 'http://site.test/x')).toBe(true);
    expect(switches()).toEqual([
      [A, 'http://***@127.0.0.1:2', 'blocked'],
      ['http://***@127.0.0.1:2', C, 'rate_limited'],
    ]);
    expect(lines.find((l) => l.reason === 'blocked')).toMatchObject({ status: 403, url: 'http://site.test/page', site: 'site.test', level: 30 });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('rotates only the site that refused: other sites keep their proxy', () => {
    const { p, clock } = tracked(pool([A, C], 60_000));
    expect(p.current('banned.test').label).toBe(A);
    expect(p.current('friendly.test').label).toBe(A);
    expect(p.refused(p.current('banned.test'), 403, 'https://banned.test/a')).toBe(true);
    expect(p.current('banned.test').label).toBe(C);
    expect(p.current('friendly.test').label).toBe(A);
    expect(p.current().label).toBe(A);
    expect(p.current('new.test').label).toBe(A);
    // Time-based rotation still runs, for every rotation.
    clock.advance(60_000);
    expect(p.current('friendly.test').label).toBe(C);
    expect(p.current('banned.test').label).toBe(A);
  });

  it('cannot help with a refusal when there is one proxy', () => {
    const { p, switches } = tracked(pool([A]));
    expect(p.refused(p.current(), 403, 'http://site.test/')).toBe(false);
    expect(switches()).toEqual([]);
  });

  it('rotates after the interval, by the injected clock', () => {
    const { p, clock, switches } = tracked(pool([A, C], 60_000));
    expect(p.current().label).toBe(A);
    clock.advance(59_999);
    expect(p.current().label).toBe(A);
    clock.advance(1);
    expect(p.current().label).toBe(C);
    clock.advance(30_000);
    expect(p.current().label).toBe(C);
    clock.advance(30_000);
    expect(p.current().label).toBe(A);
    expect(switches()).toEqual([
      [A, C, 'interval'],
      [C, A, 'interval'],
    ]);
  });

  it('does not rotate on time when the interval is 0', () => {
    const { p, clock } = tracked(pool([A, C], 0));
    clock.advance(86_400_000);
    expect(p.current().label).toBe(A);
  });

  it('skips an unreachable proxy with a doubling backoff, and says when all are down', () => {
    const { p, clock, switches, lines } = tracked(pool([A, C]));
    const a = p.current();
    p.unreachable(a, 'connect ECONNREFUSED');
    p.unreachable(a, 'connect ECONNREFUSED'); // the same outage seen by a concurrent fetch
    const c = p.current();
    expect(c.label).toBe(C);
    expect(lines.filter((l) => l.msg === 'proxy unreachable').map((l) => l.backoffMs)).toEqual([1000]);
    p.unreachable(c, 'connect ECONNREFUSED');
    let err: unknown;
    try {
      p.current();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScrapeError);
    expect(err).toMatchObject({ code: 'proxy_error' });
    expect((err as Error).message).toMatch(/all 2 proxies are unreachable/);
    clock.advance(1000);
    expect(p.current().label).toBe(C); // both backoffs are over; C stayed current
    p.unreachable(c, 'again');
    expect(p.current().label).toBe(A);
    expect(lines.filter((l) => l.msg === 'proxy unreachable').map((l) => l.backoffMs)).toEqual([1000, 1000, 2000]);
    p.succeeded(p.current());
    expect(switches()).toEqual([
      [A, C, 'unreachable'],
      [C, A, 'unreachable'],
    ]);
  });
});
