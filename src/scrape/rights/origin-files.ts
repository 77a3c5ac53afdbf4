/**
 * The rights files of an origin: robots.txt (from the fetcher's own cache), `/.well-known/tdmrep.json` and
 * `/ai.txt`, each fetched through the fetcher (so through the SSRF guard, the proxies, the host limits and
 * small size and time limits) and cached per origin like robots.txt. A missing file (any 4xx) says
 * nothing; one that cannot be read (5xx, 429, network, too large) says nothing either, and is cached
 * only briefly so a passing outage does not stick.
 */
import robotsParserModule from 'robots-parser';
import { systemClock, type Clock } from '../clock.js';
import type { Fetcher, FetchLimits } from '../fetcher.js';
import { OriginCache } from '../origin-cache.js';
import { ROBOTS_TTL_MS, ROBOTS_UNREACHABLE_TTL_MS, type RobotsTxt } from '../robots.js';
import { scanRobotsGroups } from '../robots-groups.js';
import { ScrapeError } from '../scrape-error.js';
import { normaliseAiTxt, type RobotsFileView } from './robots-signals.js';
import { parseTdmrepFile, type TdmrepFileView } from './tdmrep-file.js';

const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default;

export interface OriginRightsFiles {
  robots: RobotsFileView;
  tdmrep: TdmrepFileView;
  aiTxt: RobotsFileView;
}

export interface OriginFilesOptions {
  fetcher: Pick<Fetcher, 'fetch' | 'robotsTxt'>;
  clock?: Pick<Clock, 'now'>;
  ttlMs?: number;
  unreachableTtlMs?: number;
  maxOrigins?: number;
}

const FILE_LIMITS = {
  timeoutMs: 10_000,
  maxBytes: 64 * 1024,
  maxRedirects: 5,
  // An unreadable file is cached for a minute and retried then; retrying now would hold up the page.
  maxRetries: 0,
} satisfies Omit<FetchLimits, 'signal'>;
/** Bounds one origin's load including waits for a host slot: it is shared, so no one caller's signal can. */
const LOAD_MAX_MS = 60_000;

type FileRead = { kind: 'body'; url: string; body: string } | { kind: 'absent'; url: string } | { kind: 'unreachable'; url: string; reason: string };

export class OriginFiles {
  private readonly cache: OriginCache<{ tdmrep: TdmrepFileView; aiTxt: RobotsFileView }>;

  constructor(private readonly options: OriginFilesOptions) {
    const ttl = options.ttlMs ?? ROBOTS_TTL_MS;
    const shortTtl = options.unreachableTtlMs ?? ROBOTS_UNREACHABLE_TTL_MS;
    this.cache = new OriginCache({
      load: (origin) => this.load(origin),
      ttlMs: (v) => (v.tdmrep.kind === 'unreachable' || v.aiTxt.kind === 'unreachable' ? shortTtl : ttl),
      clock: options.clock ?? systemClock,
      maxOrigins: options.maxOrigins ?? 10_000,
    });
  }

  async get(origin: string, signal?: AbortSignal): Promise<OriginRightsFiles> {
    const [robots, files] = await Promise.all([this.robots(origin, signal), this.cache.get(origin, signal)]);
    return { robots, ...files };
  }

  private async robots(origin: string, signal?: AbortSignal): Promise<RobotsFileView> {
    const url = `${origin}/robots.txt`;
    let file: RobotsTxt;
    try {
      file = await this.options.fetcher.robotsTxt(origin, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      return { kind: 'unreachable', url, reason: message(err) };
    }
    if (file.kind === 'rules') return { kind: 'rules', url, robot: file.robot, groups: file.groups };
    if (file.kind === 'unreachable') return { kind: 'unreachable', url, reason: file.reason };
    return { kind: 'absent', url };
  }

  private async load(origin: string): Promise<{ tdmrep: TdmrepFileView; aiTxt: RobotsFileView }> {
    const [tdm, ai] = await Promise.all([this.read(`${origin}/.well-known/tdmrep.json`, 'application/json,*/*;q=0.1'), this.read(`${origin}/ai.txt`, 'text/plain,*/*;q=0.1')]);
    const tdmrep: TdmrepFileView = tdm.kind === 'body' ? parseTdmrepFile(tdm.url, tdm.body) : tdm;
    const aiTxt: RobotsFileView = ai.kind === 'body' ? readAiTxt(ai.url, ai.body) : ai;
    return { tdmrep, aiTxt };
  }

  private async read(url: string, accept: string): Promise<FileRead> {
    try {
      const res = await this.options.fetcher.fetch(url, { ...FILE_LIMITS, accept, signal: AbortSignal.timeout(LOAD_MAX_MS) });
      // Sites that answer every path with their HTML app have no such file.
      if (/^\s*text\/html/i.test(res.contentType ?? '')) return { kind: 'absent', url };
      return { kind: 'body', url, body: res.body.toString('utf8') };
    } catch (err) {
      const status = err instanceof ScrapeError && err.code === 'http_error' ? err.details.httpStatus : undefined;
      if (status !== undefined && status >= 400 && status < 500 && status !== 429) return { kind: 'absent', url };
      // robots.txt may keep us from the file itself: then the site has not shown it to us.
      if (err instanceof ScrapeError && err.code === 'robots_disallowed') return { kind: 'absent', url };
      return { kind: 'unreachable', url, reason: message(err) };
    }
  }
}

function readAiTxt(url: string, body: string): RobotsFileView {
  const normalised = normaliseAiTxt(body);
  return { kind: 'rules', url, robot: robotsParser(url.replace(/\/ai\.txt$/, '/robots.txt'), normalised), groups: scanRobotsGroups(normalised) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
