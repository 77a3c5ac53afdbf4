import { createFetcher, type Fetcher } from '../../../../src/scrape/fetcher.js';
import { OriginFiles } from '../../../../src/scrape/rights/origin-files.js';
import { startFixtureSite, type FixtureSite } from '../../../fixtures/site.js';
import { FakeClock } from '../../../fixtures/clock.js';

const UA = 'scrapeds/0.1 (+https://github.com/scrapeds; dataset collection)';
let site: FixtureSite;
const fetchers: Fetcher[] = [];
function fetcher(allowPrivate = true): Fetcher {
  // Retries on, as in service: the rights files must not use them.
  const f = createFetcher({ userAgent: UA, policy: { allowPrivate, allowCidrs: [] }, connectTimeoutMs: 2000, retry: { retries: 2, retryAfterMaxMs: 0 } });
  fetchers.push(f);
  return f;
}

beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await site.close();
});
beforeEach(() => site.resetHits());

describe('OriginFiles', () => {
  it('reads robots.txt, tdmrep.json and ai.txt once per origin, and again after the TTL', async () => {
    site.serve('/robots.txt', 'User-agent: GPTBot\nDisallow: /\n', 'text/plain');
    site.serve('/.well-known/tdmrep.json', '[{"location": "/", "tdm-reservation": 1}]', 'application/json');
    site.serve('/ai.txt', 'User-Agent: *\nDisallow: /\n', 'text/plain');
    const clock = new FakeClock();
    const files = new OriginFiles({ fetcher: fetcher(), clock, ttlMs: 1000 });
    const [a, b] = await Promise.all([files.get(site.origin), files.get(site.origin)]);
    expect(a.robots.kind).toBe('rules');
    expect(a.tdmrep).toMatchObject({ kind: 'rules', rules: [{ location: '/', reservation: 1, index: 1 }] });
    expect(a.aiTxt.kind).toBe('rules');
    expect(b).toEqual(a);
    expect(['/robots.txt', '/.well-known/tdmrep.json', '/ai.txt'].map((p) => site.hits(p))).toEqual([1, 1, 1]);
    clock.advance(1001);
    await files.get(site.origin);
    expect(site.hits('/.well-known/tdmrep.json')).toBe(2);
  });

  it('a 404 is absent, a 503 unreachable (kept only briefly), an HTML answer absent', async () => {
    site.serve('/robots.txt', 'nope', 'text/plain', 404);
    site.serve('/.well-known/tdmrep.json', 'busy', 'text/plain', 503);
    site.serve('/ai.txt', '<html>app</html>', 'text/html');
    const clock = new FakeClock();
    const files = new OriginFiles({ fetcher: fetcher(), clock, ttlMs: 60_000, unreachableTtlMs: 100 });
    const got = await files.get(site.origin);
    expect(got.robots).toEqual({ kind: 'absent', url: `${site.origin}/robots.txt` });
    expect(got.tdmrep).toMatchObject({ kind: 'unreachable', reason: expect.stringContaining('503') });
    expect(got.aiTxt).toEqual({ kind: 'absent', url: `${site.origin}/ai.txt` });
    expect(site.hits('/.well-known/tdmrep.json')).toBe(1); // not retried now: retried after the short TTL
    clock.advance(101);
    await files.get(site.origin);
    expect(site.hits('/.well-known/tdmrep.json')).toBe(2);
  });

  it('goes through the SSRF guard: a private origin is not fetched, and is recorded as unreachable', async () => {
    const files = new OriginFiles({ fetcher: fetcher(false) });
    const got = await files.get(site.origin);
    expect(got.tdmrep).toMatchObject({ kind: 'unreachable', reason: expect.stringMatching(/private|blocked|not allowed/i) });
    expect(got.aiTxt.kind).toBe('unreachable');
    expect(got.robots.kind).toBe('unreachable');
    expect(site.hits('/.well-known/tdmrep.json') + site.hits('/ai.txt') + site.hits('/robots.txt')).toBe(0);
  });

  it('bounds the size of a rights file', async () => {
    site.serve('/robots.txt', '', 'text/plain');
    site.serve('/.well-known/tdmrep.json', `[${'{"location": "/", "tdm-reservation": 1},'.repeat(5000)}{}]`, 'application/json');
    site.serve('/ai.txt', '', 'text/plain');
    const got = await new OriginFiles({ fetcher: fetcher() }).get(site.origin);
    expect(got.tdmrep).toMatchObject({ kind: 'unreachable', reason: expect.stringMatching(/limit|large/i) });
  });
});
