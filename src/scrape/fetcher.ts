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
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, isAddressAllowed, validateAddressPolicy, type AddressPolicy, type Resolver } from './address-guard.js';
import { systemClock, type Clock } from './clock.js';
import { Deadline } from './deadline.js';
import type { HostLimiter } from './host-limiter.js';
import { ProxyUnreachableError, type ProxyLease, type ProxyPool } from './proxy-pool.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { RobotsCache, type RobotsFile } from './robots.js';
import { ScrapeError } from './scrape-error.js';

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
}

export interface Fetcher {
  fetch(url: string, limits: FetchLimits): Promise<FetchResult>;
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
  robots?: RobotsCache;
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
  const ctx: Context = { options, agent, clock, lookup };
  if (options.robots) {
    ctx.robots = new RobotsCache({ userAgent: options.userAgent, clock, ...options.robots, load: (robotsUrl) => loadRobots(ctx, robotsUrl) });
  }
  return {
    fetch: (url, limits) => fetchUrl(ctx, url, limits),
    close: async () => {
      await agent.destroy();
      await options.proxies?.close();
    },
  };
}

async function fetchUrl(ctx: Context, requestedUrl: string, limits: FetchLimits): Promise<FetchResult> {
  const url = checkTarget(parseUrl(requestedUrl), ctx.options.policy);
  const log = ctx.options.log;
  return withRetries(() => fetchVia(ctx, requestedUrl, url, limits, true), ctx.options.retry ?? NO_RETRIES, {
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
    const lease = pool.current();
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
  deadline.resume();
  try {
    for (let redirects = 0; ; redirects++) {
      const release = await admit(ctx, url, deadline, robots, lease);
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
        const headers = flattenHeaders(res.headers);
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
        return result;
      } finally {
        release();
      }
    }
  } catch (err) {
    throw toScrapeError(err, url, signal, limits.signal, limits.timeoutMs, lease);
  } finally {
    deadline.dispose();
  }
}

/** What a hop waits for before it may be sent: the guard (when proxied), robots.txt, its host's slot. */
async function admit(ctx: Context, url: URL, deadline: Deadline, robots: boolean, lease?: ProxyLease): Promise<() => void> {
  if (lease) await resolveThroughGuard(ctx, url);
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

function parseUrl(text: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch {
    throw new ScrapeError('invalid_url', `not a valid URL: ${text}`);
  }
}

/**
 * Checks scheme and literal IP hosts. Node never calls `lookup` for an IP literal, so the guarded lookup
 * alone would let http://127.0.0.1/ through. WHATWG URL parsing already turned 2130706433 or 0x7f.1 into 127.0.0.1.
 */
function checkTarget(url: URL, policy: AddressPolicy): URL {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ScrapeError('unsupported_scheme', `only http and https URLs can be fetched, not ${url.protocol.replace(/:$/, '')}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host) && !isAddressAllowed(host, policy)) {
    throw new ScrapeError('blocked_address', `${host} is a private or reserved address`, { address: host });
  }
  url.hash = '';
  return url;
}

function flattenHeaders(raw: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function tooLarge(maxBytes: number): ScrapeError {
  return new ScrapeError('too_large', `response is larger than the ${maxBytes} byte limit`);
}

async function readBody(body: Readable, headers: Record<string, string>, maxBytes: number, signal: AbortSignal, truncate: boolean): Promise<Buffer> {
  const announced = Number(headers['content-length']);
  if (!truncate && Number.isFinite(announced) && announced > maxBytes) {
    abandon(body);
    throw tooLarge(maxBytes);
  }
  // Compressed bytes are limited too: a deflate stream of empty blocks is endless input with no output.
  const wire = countBytes(body, maxBytes)[Symbol.asyncIterator]();
  const collector = new Collector(maxBytes, truncate);
  try {
    const first = await wire.next();
    if (first.done) return Buffer.alloc(0);
    const source = Readable.from(prepend(first.value, wire), { objectMode: false });
    await pipeline([source, ...decoders(headers['content-encoding'], first.value), collector], { signal });
    return Buffer.concat(collector.chunks, collector.total);
  } catch (err) {
    if (truncate && err instanceof ScrapeError && err.code === 'too_large') return Buffer.concat(collector.chunks, collector.total);
    throw err;
  } finally {
    abandon(body);
  }
}

/**
 * Reads and drops a small body in the background, so the connection can be reused; a large or slow one is
 * cut off (at 64 KiB, or at the deadline) rather than delaying the caller.
 */
function discard(body: Dispatcher.ResponseData['body'], timeoutMs: number): void {
  body.dump({ limit: 64 * 1024, signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
}

/** Destroying an unfinished undici body emits an abort error; nobody else is listening for it. */
function abandon(body: Readable): void {
  if (body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}

async function* countBytes(body: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    yield chunk;
  }
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* { [Symbol.asyncIterator]: () => rest };
}

/**
 * zlib streams in a pipeline, so decompression runs under backpressure and a bomb stops at the limit
 * instead of inflating into memory. Content codings apply in order, so they are undone in reverse.
 */
function decoders(contentEncoding: string | undefined, firstChunk: Buffer): Transform[] {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean)
    .reverse();
  const out: Transform[] = [];
  // Servers get compression slightly wrong often enough that ending early must not lose what was decoded.
  const lenient = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  for (const [i, coding] of codings.entries()) {
    if (coding === 'gzip' || coding === 'x-gzip') out.push(zlib.createGunzip(lenient));
    else if (coding === 'br') out.push(zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }));
    else if (coding === 'deflate') {
      // "deflate" should be zlib-wrapped, but some servers send raw deflate; the first byte tells which.
      const zlibWrapped = i > 0 || (firstChunk.length > 0 && ((firstChunk[0] ?? 0) & 0x0f) === 0x08);
      out.push(zlibWrapped ? zlib.createInflate(lenient) : zlib.createInflateRaw(lenient));
    }
    // identity, and codings we never asked for, pass through: the body's consumer judges the bytes.
  }
  return out;
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  total = 0;

  /** `truncate`: keep what fits before failing, for a caller that takes the start of a long body. */
  constructor(
    private readonly maxBytes: number,
    private readonly truncate: boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const room = this.maxBytes - this.total;
    if (chunk.length > room) {
      if (this.truncate && room > 0) {
        this.chunks.push(chunk.subarray(0, room));
        this.total += room;
      }
      return callback(tooLarge(this.maxBytes));
    }
    this.total += chunk.length;
    this.chunks.push(chunk);
    callback();
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'UND_ERR_ABORTED', 'ABORT_ERR']);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Every error an error stands for: undici and Node wrap (cause) and aggregate (happy eyeballs). Duck-typed,
 * not instanceof: errors made by Node core may come from another realm (jest's VM contexts, for one).
 */
function* errorChain(err: unknown, depth = 0): Generator<ErrorLike> {
  if (depth > 5 || typeof err !== 'object' || err === null) return;
  const e = err as ErrorLike;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* errorChain(inner, depth + 1);
  if (e.cause !== undefined) yield* errorChain(e.cause, depth + 1);
}

/** Failing to reach the proxy itself (all sockets in proxy mode go to the proxy), or being refused by it. */
const PROXY_CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function proxyError(chain: ErrorLike[], url: URL, lease: ProxyLease, err: unknown): ScrapeError | undefined {
  for (const e of chain) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    if ((code && PROXY_CONNECT_CODES.has(code)) || /Proxy Authentication Required/i.test(message)) {
      return new ProxyUnreachableError(lease.label, `proxy ${lease.label} cannot be used: ${message || code}`, { cause: err });
    }
    // The proxy is up but could not open a tunnel to the site (https): the site's problem, as far as we can tell.
    if (/Proxy response \(\d+\)/.test(message)) {
      return new ScrapeError('connection_error', `${url.href} through proxy ${lease.label}: ${message}`, {}, { cause: err });
    }
  }
  return undefined;
}

function toScrapeError(err: unknown, url: URL, signal: AbortSignal, callerSignal: AbortSignal | undefined, timeoutMs: number, lease?: ProxyLease): unknown {
  const chain = [...errorChain(err)];
  const scrapeError = chain.find((e): e is ScrapeError => e instanceof ScrapeError);
  if (scrapeError) return scrapeError;
  if (signal.aborted) {
    const message = callerSignal?.aborted ? `fetch of ${url.href} was cancelled` : `no complete response from ${url.href} within ${timeoutMs} ms`;
    return new ScrapeError('timeout', message, {}, { cause: err });
  }
  const viaProxy = lease && proxyError(chain, url, lease, err);
  if (viaProxy) return viaProxy;
  for (const e of chain) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' && e.message ? e.message : (code ?? 'failed');
    if (e.name === 'AbortError' || e.name === 'TimeoutError' || (code && TIMEOUT_CODES.has(code))) {
      return new ScrapeError('timeout', `${url.href}: ${message}`, {}, { cause: err });
    }
    if (code && DNS_CODES.has(code)) return new ScrapeError('dns_error', `cannot resolve ${url.hostname} (${code})`, {}, { cause: err });
    // Refused, reset, unreachable, TLS failures, malformed HTTP: the site could not be talked to.
    if (code) return new ScrapeError('connection_error', `${url.href}: ${message}`, {}, { cause: err });
  }
  return err;
}
