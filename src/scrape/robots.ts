/**
 * robots.txt (RFC 9309), cached per origin. Fetching is left to a loader (the fetcher passes its own,
 * so robots.txt goes through the SSRF guard, the proxies and the per-host limits like any request).
 *
 * What an answer means, per the RFC:
 * - 2xx: the rules apply to our User-Agent product token (group `*` otherwise).
 * - 4xx other than 429, or more than 5 redirects: "unavailable", so everything is allowed.
 * - 429, 5xx, a network failure or timeout: "unreachable", so everything is disallowed. That verdict is
 *   cached only briefly, so a passing outage costs the tasks that meet it, not the next hour's.
 * Refusals of our own (SSRF guard, bad URL, a name that does not resolve) are thrown with their code, as
 * the page fetch would likely meet them too, and a message naming robots.txt, as it may have been only
 * robots.txt (redirected to a blocked address) that met them.
 */
import robotsParserModule from 'robots-parser';
import { systemClock, type Clock } from './clock.js';
import { ScrapeError } from './scrape-error.js';

export interface RobotsFile {
  status: number;
  body: string;
}

/** Fetches a robots.txt URL. Resolves with any HTTP status; rejects (with a ScrapeError) when there is none. */
export type RobotsLoader = (robotsUrl: string) => Promise<RobotsFile>;

export interface RobotsOptions {
  userAgent: string;
  load: RobotsLoader;
  clock?: Pick<Clock, 'now'>;
  ttlMs?: number;
  unreachableTtlMs?: number;
  maxOrigins?: number;
  /** A hostile or careless Crawl-delay must not park a worker for hours. */
  maxCrawlDelayMs?: number;
}

export interface RobotsPermit {
  /** Spacing the site asks between our requests (Crawl-delay), 0 if none. */
  crawlDelayMs: number;
}

// robots-parser is CommonJS (module.exports = the function) but its types declare an ES default export.
const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default;
type Robot = ReturnType<typeof robotsParser>;

type Verdict = { kind: 'rules'; robot: Robot } | { kind: 'allow_all' } | { kind: 'unreachable'; reason: string; httpStatus?: number };

interface Entry {
  verdict: Verdict;
  expiresAt: number;
}

export const ROBOTS_TTL_MS = 60 * 60 * 1000;
export const ROBOTS_UNREACHABLE_TTL_MS = 60 * 1000;
export const MAX_CRAWL_DELAY_MS = 60 * 1000;

/** Errors that are ours or the page's too, not the robots.txt's: passed on, never cached. */
const PASS_THROUGH = new Set(['blocked_address', 'invalid_url', 'unsupported_scheme', 'dns_error']);

/**
 * The product token robots.txt groups are matched against: the first word of the User-Agent without its
 * version ("scrapeds/0.1 (+https://…)" → "scrapeds"), reduced to the characters RFC 9309 allows.
 */
export function userAgentToken(userAgent: string): string {
  const first = userAgent.trim().split(/[\s/]/, 1)[0] ?? '';
  return first.replace(/[^A-Za-z_-]/g, '').toLowerCase() || '*';
}

export class RobotsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private readonly token: string;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: RobotsOptions) {
    this.token = userAgentToken(options.userAgent);
    this.clock = options.clock ?? systemClock;
  }

  /** Resolves when robots.txt lets us fetch `url`; throws robots_disallowed or robots_unavailable otherwise. */
  async permit(url: URL, signal?: AbortSignal): Promise<RobotsPermit> {
    // RFC 9309 2.2.2: robots.txt itself is always allowed.
    if (url.pathname === '/robots.txt') return { crawlDelayMs: 0 };
    const { verdict } = await this.entry(url.origin, signal);
    if (verdict.kind === 'allow_all') return { crawlDelayMs: 0 };
    if (verdict.kind === 'unreachable') {
      throw new ScrapeError(
        'robots_unavailable',
        `${url.origin}/robots.txt could not be fetched (${verdict.reason}); RFC 9309 says to assume the whole site is disallowed until it can`,
        verdict.httpStatus === undefined ? {} : { httpStatus: verdict.httpStatus },
      );
    }
    if (verdict.robot.isAllowed(url.href, this.token) === false) {
      throw new ScrapeError('robots_disallowed', `${url.origin}/robots.txt disallows ${url.pathname}${url.search} for user agent "${this.token}"`);
    }
    const delaySeconds = Number(verdict.robot.getCrawlDelay(this.token) ?? 0);
    const crawlDelayMs = Number.isFinite(delaySeconds) && delaySeconds > 0 ? delaySeconds * 1000 : 0;
    return { crawlDelayMs: Math.min(crawlDelayMs, this.options.maxCrawlDelayMs ?? MAX_CRAWL_DELAY_MS) };
  }

  private async entry(origin: string, signal?: AbortSignal): Promise<Entry> {
    const cached = this.entries.get(origin);
    if (cached && cached.expiresAt > this.clock.now()) return cached;
    let pending = this.loading.get(origin);
    if (!pending) {
      // One load per origin however many fetches ask; it runs on its own deadline (the loader's), not theirs.
      pending = this.load(origin).finally(() => this.loading.delete(origin));
      this.loading.set(origin, pending);
    }
    return signal ? abortable(pending, signal) : pending;
  }

  private async load(origin: string): Promise<Entry> {
    const verdict = await this.fetchVerdict(origin);
    const ttl = verdict.kind === 'unreachable' ? (this.options.unreachableTtlMs ?? ROBOTS_UNREACHABLE_TTL_MS) : (this.options.ttlMs ?? ROBOTS_TTL_MS);
    const entry = { verdict, expiresAt: this.clock.now() + ttl };
    this.entries.delete(origin); // re-inserted last: the Map's order is least recently loaded first
    this.entries.set(origin, entry);
    const max = this.options.maxOrigins ?? 10_000;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= max) break;
      this.entries.delete(key);
    }
    return entry;
  }

  private async fetchVerdict(origin: string): Promise<Verdict> {
    const robotsUrl = `${origin}/robots.txt`;
    let file: RobotsFile;
    try {
      file = await this.options.load(robotsUrl);
    } catch (err) {
      if (err instanceof ScrapeError && PASS_THROUGH.has(err.code)) {
        // Same code, but the message names robots.txt: it may have redirected where the page never would.
        throw new ScrapeError(err.code, `${robotsUrl} could not be fetched: ${err.message}`, err.details, { cause: err });
      }
      if (err instanceof ScrapeError && err.code === 'too_many_redirects') return { kind: 'allow_all' };
      return { kind: 'unreachable', reason: err instanceof Error ? err.message : String(err) };
    }
    if (file.status >= 200 && file.status <= 299) return { kind: 'rules', robot: robotsParser(robotsUrl, file.body) };
    if (file.status === 429 || file.status >= 500) return { kind: 'unreachable', reason: `HTTP ${file.status}`, httpStatus: file.status };
    return { kind: 'allow_all' };
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
