/**
 * Bounded retries with exponential backoff and full jitter, for failures that may pass: the network,
 * timeouts, 5xx, 408 and 429. A `Retry-After` on 429/503 replaces the backoff, up to a cap; a longer one
 * fails at once rather than holding a worker.
 */
import { backoffDelay as backoffBy, type Backoff } from '../util/backoff.js';
import type { Clock } from './clock.js';
import { ScrapeError } from './scrape-error.js';

export interface RetryPolicy {
  /** Retries after the first attempt; 0 turns retrying off. */
  retries: number;
  /** The longest `Retry-After` we wait for. */
  retryAfterMaxMs: number;
  /** Backoff ceiling before jitter doubles from this per retry. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface RetryContext {
  clock: Clock;
  /** [0, 1); injected for tests. */
  random?: () => number;
  /** The caller's signal: once it aborts, nothing is retried and waits stop. */
  signal?: AbortSignal;
  onRetry?(info: { retry: number; delayMs: number; error: ScrapeError }): void;
}

export const DEFAULT_BASE_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/** Full jitter (uniform in [0, min(max, base·2^retry)]): clients that failed together do not retry together. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const backoff: Backoff = { strategy: 'full_jitter', minMs: policy.baseDelayMs ?? DEFAULT_BASE_DELAY_MS, maxMs: policy.maxDelayMs ?? DEFAULT_MAX_DELAY_MS };
  return backoffBy(retry, backoff, random);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone would take "-5" for a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

const RETRYABLE_CODES = new Set(['connection_error', 'timeout', 'proxy_error']);

export function isRetryable(err: unknown): err is ScrapeError {
  if (!(err instanceof ScrapeError)) return false;
  if (RETRYABLE_CODES.has(err.code)) return true;
  if (err.code !== 'http_error') return false;
  const status = err.details.httpStatus ?? 0;
  // 501 and 505 say the server will never do it; other 5xx may pass. 4xx are final except these two.
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/**
 * How long to wait before retry number `retry` (0-based) after `err`, or undefined to give up.
 * Throws when the server asks for a wait over the cap, naming both.
 */
export function retryDelay(err: unknown, retry: number, policy: RetryPolicy, ctx: Pick<RetryContext, 'clock' | 'random'>): number | undefined {
  if (retry >= policy.retries || !isRetryable(err)) return undefined;
  const status = err.details.httpStatus;
  if (status === 429 || status === 503) {
    const asked = parseRetryAfter(err.details.retryAfter, ctx.clock.now());
    if (asked !== undefined) {
      if (asked > policy.retryAfterMaxMs) {
        throw new ScrapeError(
          'http_error',
          `${err.message}, asking to retry after ${Math.ceil(asked / 1000)} s: longer than the ${Math.round(policy.retryAfterMaxMs / 1000)} s we wait`,
          { httpStatus: status },
          { cause: err },
        );
      }
      return asked;
    }
  }
  return backoffDelay(retry, policy, ctx.random);
}

/** Runs `attempt` until it succeeds, fails for good, or the retries are spent; the last error is thrown. */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, ctx: RetryContext): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      const delayMs = retryDelay(err, n, policy, ctx);
      if (delayMs === undefined) throw err;
      ctx.onRetry?.({ retry: n + 1, delayMs, error: err as ScrapeError });
      try {
        await ctx.clock.sleep(delayMs, ctx.signal);
      } catch {
        // Cancelled while waiting: the failure that made us wait says more than "aborted".
        throw err;
      }
    }
  }
}
