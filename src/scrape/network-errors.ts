/**
 * Turns what undici and the OS throw into typed ScrapeErrors, so callers and retries can tell a timeout, a
 * DNS failure, an unreachable site and an unusable proxy apart.
 */
import { ProxyUnreachableError, type ProxyLease } from './proxy-pool.js';
import { ScrapeError } from './scrape-error.js';

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

export function toScrapeError(err: unknown, url: URL, signal: AbortSignal, callerSignal: AbortSignal | undefined, timeoutMs: number, lease?: ProxyLease): unknown {
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
