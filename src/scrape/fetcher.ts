/**
 * HTTP(S) GET with the limits every fetch needs: a deadline, a byte limit checked while streaming (before
 * and after decompression), a redirect limit, and the SSRF guard on every hop. Optional politeness, each
 * off unless configured: robots.txt, per-host concurrency and spacing, retries, rotating proxies.
 *
 * One fetch = up to 1 + `retry.retries` attempts; one attempt = a redirect chain through one egress (a
 * proxy, or directly), failing over to the next proxy when one is unreachable or refused by the site. Each
 * hop of a chain is checked against robots.txt and waits for its host's slot.
 *
 * With a proxy the proxy resolves the target's name, so the connect-time guard cannot see the address
 * used. We resolve the name ourselves through the guard first and refuse private answers; literal IPs are
 * checked before sending as always. Residual risk: a name whose DNS answers differ between us and the
 * proxy (rebinding, split horizon) can still reach what the proxy can reach. Use proxies that cannot reach
 * private networks themselves.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, validateAddressPolicy, type AddressPolicy, type Resolver } from './address-guard.js';
import { discard, readBody } from './body-reader.js';
import { systemClock, type Clock } from './clock.js';
import { Deadline } from './deadline.js';
import type { HostLimiter } from './host-limiter.js';
import { toScrapeError } from './network-errors.js';
import { ProxyUnreachableError, type ProxyLease, type ProxyPool } from './proxy-pool.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { RobotsCache, type RobotsFile, type RobotsTxt } from './robots.js';
import { ScrapeError } from './scrape-error.js';
import { checkTarget, parseUrl } from './target-url.js';
import { telemetry } from '../ops/telemetry.js';

export interface FetchLimits {
  /**
   * Deadline for one attempt: connect, headers, body and every redirect. Waiting for a host slot, a
   * Crawl-delay or robots.txt does not count; each retry has its own. `signal` bounds it all.
   */
  timeoutMs: number;
  /** Limit on body bytes, on the wire and after decompression. */
  maxBytes: number;
  maxRedirects: number;
  accept?: string;
  signal?: AbortSignal;
  /** Keep the first `maxBytes` of a longer body instead of failing (robots.txt: RFC 9309 says parse the start). */
  truncate?: boolean;
  /** Fewer retries than the fetcher's policy (rights files: a missing answer is cached briefly, not waited for). */
  maxRetries?: number;
}

export interface FetchResult {
  requestedUrl: string;
  finalUrl: string;
  status: number;
  headers: Record<string, string>;
  contentType?: string;
  /** Decompressed. */
  body: Buffer;
  /** The proxy that served it (credentials redacted); absent when fetched directly. */
  proxy?: string;
  /** Each field that came more than once, value by value (`headers` joins them with ", "); rights directives are scoped per field value. */
  headerLists?: Record<string, string[]>;
}

export interface Fetcher {
  fetch(url: string, limits: FetchLimits): Promise<FetchResult>;
  /** An origin's robots.txt, read once per TTL and shared with the politeness check (whether or not robots.txt is obeyed). */
  robotsTxt(origin: string, signal?: AbortSignal): Promise<RobotsTxt>;
  /** Closes idle connections and aborts requests still in flight (shutdown has drained what it could). */
  close(): Promise<void>;
}

export interface RobotsSettings {
  ttlMs?: number;
  unreachableTtlMs?: number;
}

export interface FetcherOptions {
  userAgent: string;
  policy: AddressPolicy;
  connectTimeoutMs: number;
  /** Bounds the connections we keep to any one site. */
  connectionsPerOrigin?: number;
  /** Name resolution; tests inject one so they can name any address without DNS. */
  resolver?: Resolver;
  /** Per-host concurrency and spacing, shared by every fetch through this fetcher. */
  hostLimiter?: HostLimiter;
  /** Honour robots.txt for our User-Agent's product token; absent, robots.txt is not consulted. */
  robots?: RobotsSettings;
  retry?: RetryPolicy;
  /** Egress through rotating proxies; closed with the fetcher. */
  proxies?: ProxyPool;
  clock?: Clock;
  /** [0, 1) for retry jitter. */
  random?: () => number;
  log?: Logger;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NO_RETRIES: RetryPolicy = { retries: 0, retryAfterMaxMs: 0 };

const ROBOTS_LIMITS = {
  timeoutMs: 10_000,
  /** RFC 9309 asks parsers to read at least 500 KiB. */
  maxBytes: 512 * 1024,
  maxRedirects: 5,
  accept: 'text/plain,*/*;q=0.1',
  truncate: true,
} satisfies Omit<FetchLimits, 'signal'>;
/** Bounds a robots.txt load including its waits for a host slot: it is shared, so no one caller's signal can. */
const ROBOTS_LOAD_MAX_MS = 60_000;

interface Context {
  options: FetcherOptions;
  agent: Agent;
  clock: Clock;
  lookup: ReturnType<typeof guardedLookup>;
  /** Only when robots.txt is obeyed; `robotsFiles` is read either way. */
  robots?: RobotsCache;
  robotsFiles: RobotsCache;
}

export function createFetcher(options: FetcherOptions): Fetcher {
  validateAddressPolicy(options.policy);
  const lookup = guardedLookup(options.policy, options.resolver);
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 6,
    keepAliveTimeout: 10_000,
    connect: { timeout: options.connectTimeoutMs, lookup },
  });
  const clock = options.clock ?? systemClock;
  const robotsFiles = new RobotsCache({ userAgent: options.userAgent, clock, ...options.robots, load: (robotsUrl) => loadRobots(ctx, robotsUrl) });
  const ctx: Context = { options, agent, clock, lookup, robotsFiles, ...(options.robots ? { robots: robotsFiles } : {}) };
  return {
    fetch: (url, limits) => fetchUrl(ctx, url, limits),
    robotsTxt: (origin, signal) => ctx.robotsFiles.file(origin, signal),
    close: async () => {
      await agent.destroy();
      await options.proxies?.close();
    },
  };
}

async function fetchUrl(ctx: Context, requestedUrl: string, limits: FetchLimits): Promise<FetchResult> {
  const url = checkTarget(parseUrl(requestedUrl), ctx.options.policy);
  const log = ctx.options.log;
  const policy = ctx.options.retry ?? NO_RETRIES;
  const retry = limits.maxRetries === undefined ? policy : { ...policy, retries: Math.min(policy.retries, limits.maxRetries) };
  return withRetries(() => fetchVia(ctx, requestedUrl, url, limits, true), retry, {
    clock: ctx.clock,
    random: ctx.options.random,
    signal: limits.signal,
    onRetry: ({ retry, delayMs, error }) => log?.debug({ url: requestedUrl, retry, delayMs, code: error.code, error: error.message }, 'retrying fetch'),
  });
}

/** One attempt, through the current proxy and on to the next while one is unreachable or refused. */
async function fetchVia(ctx: Context, requestedUrl: string, url: URL, limits: FetchLimits, robots: boolean): Promise<FetchResult> {
  const pool = ctx.options.proxies;
  if (!pool) return fetchChain(ctx, requestedUrl, url, limits, robots);
  let last: unknown;
  for (let tried = 0; tried < pool.size; tried++) {
    const lease = pool.current(url.hostname);
    try {
      const result = await fetchChain(ctx, requestedUrl, url, limits, robots, lease);
      pool.succeeded(lease);
      return result;
    } catch (err) {
      last = err;
      if (err instanceof ProxyUnreachableError) {
        pool.unreachable(lease, err.message);
        continue;
      }
      const status = err instanceof ScrapeError && err.code === 'http_error' ? err.details.httpStatus : undefined;
      if ((status === 403 || status === 429) && pool.refused(lease, status, url.href)) continue;
      throw err;
    }
  }
  throw last;
}

async function fetchChain(ctx: Context, requestedUrl: string, start: URL, limits: FetchLimits, robots: boolean, lease?: ProxyLease): Promise<FetchResult> {
  const deadline = new Deadline(limits.timeoutMs, limits.signal);
  const signal = deadline.signal;
  let url = new URL(start);
  const startedAt = performance.now();
  try {
    for (let redirects = 0; ; redirects++) {
      const release = await admit(ctx, url, deadline, robots, lease);
      // The clock runs from here: admission waits are not network time (a no-op when admit resumed it).
      deadline.resume();
      try {
        const res = await (lease?.dispatcher ?? ctx.agent).request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: 'GET',
          headers: {
            'user-agent': ctx.options.userAgent,
            accept: limits.accept ?? '*/*',
            'accept-encoding': 'gzip, deflate, br',
          },
          signal,
          // The deadline governs; these only stop undici's own defaults from cutting in first.
          headersTimeout: limits.timeoutMs,
          bodyTimeout: limits.timeoutMs,
        });
        const { headers, lists } = flattenHeaders(res.headers);
        const location = headers['location'];
        if (REDIRECT_STATUSES.has(res.statusCode) && location) {
          discard(res.body, limits.timeoutMs);
          if (redirects >= limits.maxRedirects) {
            throw new ScrapeError('too_many_redirects', `more than ${limits.maxRedirects} redirects (last to ${location})`, { httpStatus: res.statusCode });
          }
          url = checkTarget(parseUrl(location, url), ctx.options.policy);
          continue;
        }
        if (res.statusCode < 200 || res.statusCode > 299) {
          discard(res.body, limits.timeoutMs);
          const retryAfter = headers['retry-after'];
          throw new ScrapeError('http_error', `${url.href} answered HTTP ${res.statusCode}`, { httpStatus: res.statusCode, ...(retryAfter ? { retryAfter } : {}) });
        }
        const body = await readBody(res.body, headers, limits.maxBytes, signal, limits.truncate ?? false);
        const result: FetchResult = { requestedUrl, finalUrl: url.href, status: res.statusCode, headers, contentType: headers['content-type'], body };
        if (lease) result.proxy = lease.label;
        telemetry.fetched({ outcome: 'ok', seconds: (performance.now() - startedAt) / 1000, bytes: body.length, url: url.href });
        if (lists) result.headerLists = lists;
        return result;
      } finally {
        release();
      }
    }
  } catch (err) {
    const error = toScrapeError(err, url, signal, limits.signal, limits.timeoutMs, lease);
    telemetry.fetched({ outcome: error instanceof ScrapeError ? error.code : 'aborted', seconds: (performance.now() - startedAt) / 1000, bytes: 0, url: url.href });
    throw error;
  } finally {
    deadline.dispose();
  }
}

/** What a hop waits for before it may be sent: the guard (when proxied), robots.txt, its host's slot. */
async function admit(ctx: Context, url: URL, deadline: Deadline, robots: boolean, lease?: ProxyLease): Promise<() => void> {
  if (lease) {
    deadline.resume(); // name resolution is network time
    await resolveThroughGuard(ctx, url);
  }
  let delayMs = 0;
  const cache = ctx.robots;
  if (robots && cache) delayMs = (await deadline.paused(() => cache.permit(url, deadline.signal))).crawlDelayMs;
  const limiter = ctx.options.hostLimiter;
  if (!limiter) return () => undefined;
  return deadline.paused(() => limiter.acquire(url.hostname, { delayMs, signal: deadline.signal }));
}

/** The proxy will resolve the name; resolving it ourselves first refuses names that point inside. */
function resolveThroughGuard(ctx: Context, url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host)) return Promise.resolve(); // checkTarget judged it
  return new Promise((resolve, reject) =>
    ctx.lookup(host, { all: true }, (err) => {
      if (!err) return resolve();
      // Typed here: left raw, ENOTFOUND would pass for the proxy's own failure.
      reject(err instanceof ScrapeError ? err : new ScrapeError('dns_error', `cannot resolve ${host} (${err.code ?? err.message})`, {}, { cause: err }));
    }),
  );
}

/** robots.txt through the same egress, guard and host limits as any request; no retries, no robots check. */
async function loadRobots(ctx: Context, robotsUrl: string): Promise<RobotsFile> {
  const url = checkTarget(parseUrl(robotsUrl), ctx.options.policy);
  try {
    const res = await fetchVia(ctx, robotsUrl, url, { ...ROBOTS_LIMITS, signal: AbortSignal.timeout(ROBOTS_LOAD_MAX_MS) }, false);
    return { status: res.status, body: res.body.toString('utf8') };
  } catch (err) {
    const status = err instanceof ScrapeError && err.code === 'http_error' ? err.details.httpStatus : undefined;
    if (status !== undefined) return { status, body: '' };
    throw err;
  }
}

function flattenHeaders(raw: Dispatcher.ResponseData['headers']): { headers: Record<string, string>; lists?: Record<string, string[]> } {
  const headers: Record<string, string> = {};
  let lists: Record<string, string[]> | undefined;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    headers[key] = Array.isArray(value) ? value.join(', ') : value;
    if (Array.isArray(value)) (lists ??= {})[key] = value;
  }
  return { headers, lists };
}
