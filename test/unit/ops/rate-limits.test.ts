import { parseRateRules, ruleMatches } from '../../../src/ops/rate-rules.js';
import { decide, MemoryTokenBuckets } from '../../../src/ops/token-bucket.js';

describe('RATE_LIMITS rules', () => {
  it('reads per, method, path, rate and burst; names rules in order', () => {
    expect(parseRateRules('ip 20/s burst 40; key 600/m\n# comment\nkey POST /text_tasks 5/s burst 20 # tight')).toEqual([
      { name: 'r1', per: 'ip', method: null, path: null, count: 20, periodMs: 1000, burst: 40 },
      { name: 'r2', per: 'key', method: null, path: null, count: 600, periodMs: 60_000, burst: 600 },
      { name: 'r3', per: 'key', method: 'POST', path: '/text_tasks', count: 5, periodMs: 1000, burst: 20 },
    ]);
    expect(parseRateRules('  ')).toEqual([]);
    expect(parseRateRules('ip * /batches* 1/h')[0]).toMatchObject({ method: null, path: '/batches', periodMs: 3_600_000 });
  });

  it.each([
    ['user 5/s', 'must start with "key" or "ip"'],
    ['ip 5', 'cannot read "5"'],
    ['ip GET /x', 'needs a rate'],
    ['ip 5/d', 'unknown unit "d"'],
    ['ip 0/s', 'at least 1'],
    ['ip 5/s burst x', 'burst must be a positive integer'],
  ])('refuses %s', (text, why) => {
    expect(() => parseRateRules(text)).toThrow(why);
  });

  it('matches method (GET covers HEAD) and path prefixes on segment boundaries', () => {
    const [rule] = parseRateRules('ip GET /text_tasks 1/s');
    expect(ruleMatches(rule!, 'GET', '/text_tasks')).toBe(true);
    expect(ruleMatches(rule!, 'HEAD', '/text_tasks/abc')).toBe(true);
    expect(ruleMatches(rule!, 'POST', '/text_tasks')).toBe(false);
    expect(ruleMatches(rule!, 'GET', '/text_tasksX')).toBe(false);
  });
});

describe('token bucket as claimed cells', () => {
  const spec = { cellMs: 100, burst: 3 }; // 10 per second, 3 at once

  it('lets a burst through, then one per cell as time passes', async () => {
    const buckets = new MemoryTokenBuckets();
    const t0 = 1_000_000;
    const at = (ms: number) => buckets.take('b', spec, t0 + ms);
    expect((await at(0)).remaining).toBe(2);
    expect((await at(0)).remaining).toBe(1);
    expect(await at(0)).toMatchObject({ ok: true, remaining: 0 });
    const refused = await at(0);
    expect(refused).toMatchObject({ ok: false, remaining: 0, retryAfterMs: 100 });
    expect((await at(50)).ok).toBe(false);
    expect((await at(100)).ok).toBe(true);
    expect((await at(100)).ok).toBe(false);
    // After a quiet spell the bucket is full again, and not fuller.
    for (let i = 0; i < 3; i++) expect((await at(10_000)).ok).toBe(true);
    expect((await at(10_000)).ok).toBe(false);
  });

  it('keeps buckets apart', async () => {
    const buckets = new MemoryTokenBuckets();
    for (let i = 0; i < 3; i++) await buckets.take('a', spec, 0);
    expect((await buckets.take('a', spec, 0)).ok).toBe(false);
    expect((await buckets.take('b', spec, 0)).ok).toBe(true);
  });

  it('decides from the lowest free cell alone', () => {
    expect(decide(spec, 1000, 0)).toEqual({ claim: 10 });
    expect(decide(spec, 1000, 12)).toEqual({ claim: 12 });
    expect(decide(spec, 1000, 13)).toEqual({ refuse: { ok: false, remaining: 0, retryAfterMs: 100, resetMs: 300 } });
  });
});
