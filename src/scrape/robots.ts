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
import { OriginCache } from './origin-cache.js';
import { scanRobotsGroups, type RobotsGroups } from './robots-groups.js';
import { ScrapeError } from './scrape-error.js';
import { telemetry } from '../ops/telemetry.js';

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
export type Robot = ReturnType<typeof robotsParser>;

/** A robots.txt as read: rules (with what robots-parser does not keep), none to follow, or not readable. */
export type RobotsTxt =
  | { kind: 'rules'; robot: Robot; groups: RobotsGroups }
  | { kind: 'allow_all' }
  | { kind: 'unreachable'; reason: string; httpStatus?: number };
type Verdict = RobotsTxt;

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
  private readonly cache: OriginCache<Verdict>;
  private readonly token: string;

  constructor(private readonly options: RobotsOptions) {
    this.token = userAgentToken(options.userAgent);
    this.cache = new OriginCache<Verdict>({
      load: (origin) => this.fetchVerdict(origin),
      ttlMs: (v) => (v.kind === 'unreachable' ? (options.unreachableTtlMs ?? ROBOTS_UNREACHABLE_TTL_MS) : (options.ttlMs ?? ROBOTS_TTL_MS)),
      clock: options.clock ?? systemClock,
      maxOrigins: options.maxOrigins ?? 10_000,
    });
  }

  /** Resolves when robots.txt lets us fetch `url`; throws robots_disallowed or robots_unavailable otherwise. */
  async permit(url: URL, signal?: AbortSignal): Promise<RobotsPermit> {
    // RFC 9309 2.2.2: robots.txt itself is always allowed.
    if (url.pathname === '/robots.txt') return { crawlDelayMs: 0 };
    const verdict = await this.cache.get(url.origin, signal);
    if (verdict.kind === 'allow_all') return { crawlDelayMs: 0 };
    if (verdict.kind === 'unreachable') {
      throw new ScrapeError(
        'robots_unavailable',
        `${url.origin}/robots.txt could not be fetched (${verdict.reason}); RFC 9309 says to assume the whole site is disallowed until it can`,
        verdict.httpStatus === undefined ? {} : { httpStatus: verdict.httpStatus },
      );
    }
    if (verdict.robot.isAllowed(url.href, this.token) === false) {
      telemetry.robotsRefused(url.href);
      throw new ScrapeError('robots_disallowed', `${url.origin}/robots.txt disallows ${url.pathname}${url.search} for user agent "${this.token}"`);
    }
    const delaySeconds = Number(verdict.robot.getCrawlDelay(this.token) ?? 0);
    const crawlDelayMs = Number.isFinite(delaySeconds) && delaySeconds > 0 ? delaySeconds * 1000 : 0;
    return { crawlDelayMs: Math.min(crawlDelayMs, this.options.maxCrawlDelayMs ?? MAX_CRAWL_DELAY_MS) };
  }

  /** The origin's robots.txt as read (from the same cache as permit), for readers other than the politeness check. */
  async file(origin: string, signal?: AbortSignal): Promise<RobotsTxt> {
    return this.cache.get(origin, signal);
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
    if (file.status >= 200 && file.status <= 299) return { kind: 'rules', robot: robotsParser(robotsUrl, file.body), groups: scanRobotsGroups(file.body) };
    if (file.status === 429 || file.status >= 500) return { kind: 'unreachable', reason: `HTTP ${file.status}`, httpStatus: file.status };
    return { kind: 'allow_all' };
  }
}
