import { backoffDelay, isRetryable, parseRetryAfter, retryDelay, withRetries, type RetryPolicy } from '../../../src/scrape/retry.js';
import { ScrapeError } from '../../../src/scrape/scrape-error.js';
import { FakeClock } from '../../fixtures/clock.js';

const policy: RetryPolicy = { retries: 2, retryAfterMaxMs: 60_000, baseDelayMs: 500, maxDelayMs: 30_000 };
const http = (status: number, retryAfter?: string) =>
  new ScrapeError('http_error', `answered HTTP ${status}`, { httpStatus: status, ...(retryAfter ? { retryAfter } : {}) });

describe('backoffDelay (exponential, full jitter)', () => {
  it('stays within [0, min(max, base·2^retry)]', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(0);
    expect(backoffDelay(0, policy, () => 0.999999)).toBe(499);
    expect(backoffDelay(1, policy, () => 0.5)).toBe(500);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2000);
    expect(backoffDelay(20, policy, () => 0.999999)).toBe(29_999);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Wed, 21 Oct 2015 07:28:30 GMT', 30_000],
    ['Wed, 21 Oct 2015 07:00:00 GMT', 0],
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('isRetryable', () => {
  it.each([
    [new ScrapeError('connection_error', 'reset'), true],
    [new ScrapeError('timeout', 'slow'), true],
    [new ScrapeError('proxy_error', 'proxy down'), true],
    [http(500), true],
    [http(502), true],
    [http(503), true],
    [http(504), true],
    [http(408), true],
    [http(429), true],
    [http(501), false],
    [http(400), false],
    [http(401), false],
    [http(403), false],
    [http(404), false],
    [http(410), false],
    [new ScrapeError('dns_error', 'no such name'), false],
    [new ScrapeError('blocked_address', 'private'), false],
    [new ScrapeError('robots_disallowed', 'no'), false],
    [new ScrapeError('too_large', 'big'), false],
    [new Error('a bug'), false],
  ])('%s → %s', (err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });
});

describe('retryDelay', () => {
  const clock = new FakeClock(Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'));
  const ctx = { clock, random: () => 0.5 };

  it('gives up once the retries are spent', () => {
    expect(retryDelay(http(503), 2, policy, ctx)).toBeUndefined();
    expect(retryDelay(http(503), 0, { ...policy, retries: 0 }, ctx)).toBeUndefined();
  });

  it('honours Retry-After on 429 and 503, in seconds or as a date', () => {
    expect(retryDelay(http(429, '7'), 0, policy, ctx)).toBe(7000);
    expect(retryDelay(http(503, 'Wed, 21 Oct 2015 07:28:45 GMT'), 1, policy, ctx)).toBe(45_000);
  });

  it('ignores Retry-After on other statuses and backs off instead', () => {
    expect(retryDelay(http(500, '30'), 0, policy, ctx)).toBe(250);
  });

  it('fails at once, naming the status, when Retry-After is over the cap', () => {
    let thrown: unknown;
    try {
      retryDelay(http(429, '3600'), 0, policy, ctx);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ScrapeError);
    expect(thrown).toMatchObject({ code: 'http_error', details: { httpStatus: 429 } });
    expect((thrown as Error).message).toMatch(/retry after 3600 s: longer than the 60 s we wait/);
  });
});

describe('withRetries', () => {
  it('retries until success, sleeping the backoff between attempts', async () => {
    const clock = new FakeClock();
    const attempts: number[] = [];
    const result = await withRetries(
      async (n) => {
        attempts.push(n);
        if (n < 2) throw new ScrapeError('connection_error', 'reset');
        return 'ok';
      },
      policy,
      { clock, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(attempts).toEqual([0, 1, 2]);
    expect(clock.sleeps).toEqual([250, 500]);
  });

  it('throws the last error when the retries are spent', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(http(503));
    };
    const err = await withRetries(failing, policy, { clock, random: () => 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'http_error', details: { httpStatus: 503 } });
    expect(calls).toBe(3);
  });

  it('does not retry a 404', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const notFound = () => {
      calls++;
      return Promise.reject(http(404));
    };
    await expect(withRetries(notFound, policy, { clock })).rejects.toMatchObject({ details: { httpStatus: 404 } });
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('retries nothing once the caller has aborted, and stops a wait when it aborts', async () => {
    const clock = new FakeClock();
    const aborted = new AbortController();
    aborted.abort();
    let calls = 0;
    const unavailable = () => {
      calls++;
      return Promise.reject(http(503));
    };
    await expect(withRetries(unavailable, policy, { clock, signal: aborted.signal })).rejects.toMatchObject({ code: 'http_error' });
    expect(calls).toBe(1);

    const later = new AbortController();
    const sleepy = { now: () => 0, sleep: (_ms: number, signal?: AbortSignal) => new Promise<void>((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason))) };
    const pending = withRetries(() => Promise.reject(http(503)), policy, { clock: sleepy, signal: later.signal });
    later.abort();
    await expect(pending).rejects.toMatchObject({ code: 'http_error', details: { httpStatus: 503 } });
  });

  it('reports each retry', async () => {
    const seen: Array<{ retry: number; delayMs: number }> = [];
    await withRetries(
      async (n) => {
        if (n === 0) throw http(429, '3');
        return n;
      },
      policy,
      { clock: new FakeClock(), onRetry: ({ retry, delayMs }) => seen.push({ retry, delayMs }) },
    );
    expect(seen).toEqual([{ retry: 1, delayMs: 3000 }]);
  });
});
