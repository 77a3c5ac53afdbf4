/**
 * HTTP(S) GET with the limits every fetch needs: a total deadline, a byte limit checked while streaming
 * (before and after decompression), a redirect limit, and the SSRF guard on every hop.
 */
import net from 'node:net';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, isAddressAllowed, validateAddressPolicy, type AddressPolicy, type Resolver } from './address-guard.js';
import { ScrapeError } from './scrape-error.js';

export interface FetchLimits {
  /** Deadline for the whole fetch: connect, headers, body and every redirect. */
  timeoutMs: number;
  /** Limit on body bytes, on the wire and after decompression. */
  maxBytes: number;
  maxRedirects: number;
  accept?: string;
  signal?: AbortSignal;
}

export interface FetchResult {
  requestedUrl: string;
  finalUrl: string;
  status: number;
  headers: Record<string, string>;
  contentType?: string;
  /** Decompressed. */
  body: Buffer;
}

export interface Fetcher {
  fetch(url: string, limits: FetchLimits): Promise<FetchResult>;
  /** Closes idle connections and aborts requests still in flight (shutdown has drained what it could). */
  close(): Promise<void>;
}

export interface FetcherOptions {
  userAgent: string;
  policy: AddressPolicy;
  connectTimeoutMs: number;
  /** Bounds the load we put on any one site. */
  connectionsPerOrigin?: number;
  /** Name resolution; tests inject one so they can name any address without DNS. */
  resolver?: Resolver;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function createFetcher(options: FetcherOptions): Fetcher {
  validateAddressPolicy(options.policy);
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 6,
    keepAliveTimeout: 10_000,
    connect: { timeout: options.connectTimeoutMs, lookup: guardedLookup(options.policy, options.resolver) },
  });
  return {
    fetch: (url, limits) => fetchUrl(agent, options, url, limits),
    close: () => agent.destroy(),
  };
}

async function fetchUrl(agent: Agent, options: FetcherOptions, requestedUrl: string, limits: FetchLimits): Promise<FetchResult> {
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([deadline, limits.signal]) : deadline;
  let url = checkTarget(parseUrl(requestedUrl), options.policy);
  try {
    for (let redirects = 0; ; redirects++) {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: {
          'user-agent': options.userAgent,
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
        discard(res.body, signal);
        if (redirects >= limits.maxRedirects) {
          throw new ScrapeError('too_many_redirects', `more than ${limits.maxRedirects} redirects (last to ${location})`, { httpStatus: res.statusCode });
        }
        url = checkTarget(parseUrl(location, url), options.policy);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        discard(res.body, signal);
        throw new ScrapeError('http_error', `${url.href} answered HTTP ${res.statusCode}`, { httpStatus: res.statusCode });
      }
      const body = await readBody(res.body, headers, limits.maxBytes, signal);
      return { requestedUrl, finalUrl: url.href, status: res.statusCode, headers, contentType: headers['content-type'], body };
    }
  } catch (err) {
    throw toScrapeError(err, url, signal, limits.signal, limits.timeoutMs);
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

async function readBody(body: Readable, headers: Record<string, string>, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const announced = Number(headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) {
    abandon(body);
    throw tooLarge(maxBytes);
  }
  // Compressed bytes are limited too: a deflate stream of empty blocks is endless input with no output.
  const wire = countBytes(body, maxBytes)[Symbol.asyncIterator]();
  try {
    const first = await wire.next();
    if (first.done) return Buffer.alloc(0);
    const collector = new Collector(maxBytes);
    const source = Readable.from(prepend(first.value, wire), { objectMode: false });
    await pipeline([source, ...decoders(headers['content-encoding'], first.value), collector], { signal });
    return Buffer.concat(collector.chunks, collector.total);
  } finally {
    abandon(body);
  }
}

/**
 * Reads and drops a small body in the background, so the connection can be reused; a large or slow one is
 * cut off (at 64 KiB, or at the deadline) rather than delaying the caller.
 */
function discard(body: Dispatcher.ResponseData['body'], signal: AbortSignal): void {
  body.dump({ limit: 64 * 1024, signal }).catch(() => undefined);
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

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.total += chunk.length;
    if (this.total > this.maxBytes) return callback(tooLarge(this.maxBytes));
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

function toScrapeError(err: unknown, url: URL, signal: AbortSignal, callerSignal: AbortSignal | undefined, timeoutMs: number): unknown {
  const chain = [...errorChain(err)];
  const scrapeError = chain.find((e): e is ScrapeError => e instanceof ScrapeError);
  if (scrapeError) return scrapeError;
  if (signal.aborted) {
    const message = callerSignal?.aborted ? `fetch of ${url.href} was cancelled` : `no complete response from ${url.href} within ${timeoutMs} ms`;
    return new ScrapeError('timeout', message, {}, { cause: err });
  }
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
