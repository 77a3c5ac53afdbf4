/**
 * The crawl step of a page task: once a crawl's page is fetched (and before its task is marked finished,
 * so the crawl cannot look drained while it still grows), its links in scope, and for the start page the
 * site's sitemaps, go into the frontier; the pages admitted are handed to the job sink. Run again after a
 * crash, it adds nothing twice (the frontier dedupes) and completes what the crashed run left half-added. Only the task of the batch's first kind does this.
 */
import type { Logger } from '../logger.js';
import type { BatchJob } from '../models/batch.js';
import type { CrawlSpec, FrontierCandidate } from '../models/crawl.js';
import type { TaskStore } from '../models/task-store.js';
import type { Task, TaskKind } from '../models/task.js';
import { crawlScope, type CrawlScope } from '../crawl/crawl-scope.js';
import { parseSitemap, sitemapLocations, sitemapText } from '../crawl/sitemap.js';
import { normaliseUrl } from '../crawl/url-normaliser.js';
import type { Fetcher } from '../scrape/fetcher.js';
import type { FetchedPage } from './page.js';

/** Where admitted pages' jobs go: the feeder (standalone) or the broker (cluster). */
export interface JobSink {
  submit(jobs: BatchJob[]): Promise<void>;
}

export interface CrawlStepDeps {
  store: TaskStore;
  fetcher: Fetcher;
  sink: JobSink;
  log: Logger;
  /** Limits of one sitemap fetch (the page limits). */
  limits: { timeoutMs: number; maxBytes: number; maxRedirects: number };
}

/** Sitemap files read per crawl at most (indexes included), and how deep indexes may nest. */
const MAX_SITEMAPS = 50;
const MAX_INDEX_NESTING = 3;
/** Candidates per frontier call: each call is one short transaction. */
const ADD_CHUNK = 500;

interface CrawlOf {
  spec: CrawlSpec;
  kinds: TaskKind[];
  scope: CrawlScope;
}

export interface CrawlStep {
  afterPage(task: Task, page: FetchedPage, signal: AbortSignal): Promise<void>;
}

export function createCrawlStep(deps: CrawlStepDeps): CrawlStep {
  // A crawl's spec never changes: one read per batch per process.
  const crawls = new Map<string, CrawlOf | null>();

  async function crawlOf(batchId: string): Promise<CrawlOf | null> {
    if (crawls.has(batchId)) return crawls.get(batchId) ?? null;
    const batch = await deps.store.batches.getBatch(batchId);
    const crawl = batch?.crawl ? { spec: batch.crawl, kinds: batch.kinds, scope: crawlScope(batch.crawl) } : null;
    if (crawls.size > 10_000) crawls.clear();
    crawls.set(batchId, crawl);
    return crawl;
  }

  async function afterPage(task: Task, page: FetchedPage, signal: AbortSignal): Promise<void> {
    if (!task.batchId) return;
    const crawl = await crawlOf(task.batchId);
    if (!crawl || task.kind !== crawl.kinds[0]) return;
    const depth = await deps.store.frontier.depthOf(task.batchId, task.url);
    if (depth === null) return;
    const { spec, scope } = crawl;
    const strip = { stripTrackingParams: spec.stripTrackingParams };
    const found = new Map<string, number>();
    for (const link of page.links) {
      const url = normaliseUrl(link, undefined, strip);
      if (url && !found.has(url) && scope.admits(url, depth + 1)) found.set(url, depth + 1);
    }
    if (spec.sitemaps && task.url === spec.url) {
      // Sitemap pages are seeds (depth 0), read once the start page is done.
      for (const url of await sitemapUrls(deps, spec, scope, signal)) found.set(url, 0);
    }
    const candidates: FrontierCandidate[] = [...found].map(([url, d]) => ({ url, depth: d }));
    const log = deps.log.child({ batchId: task.batchId, taskId: task.id });
    // A later attempt may follow one that died inside add: the frontier completes what it left half-done.
    const recheck = task.attempts > 1;
    let admitted = 0;
    for (let i = 0; i < candidates.length; i += ADD_CHUNK) {
      const jobs = await deps.store.frontier.add(task.batchId, candidates.slice(i, i + ADD_CHUNK), { recheck });
      admitted += jobs.length;
      if (jobs.length) await deps.sink.submit(jobs);
    }
    log.debug({ depth, links: page.links.length, candidates: candidates.length, admitted }, 'crawl page expanded');
  }

  return { afterPage };
}

/** The page URLs in scope listed by the site's sitemaps (robots.txt `Sitemap:` lines and /sitemap.xml, indexes followed). */
async function sitemapUrls(deps: CrawlStepDeps, spec: CrawlSpec, scope: CrawlScope, signal: AbortSignal): Promise<string[]> {
  const origin = new URL(spec.url).origin;
  const robots = await deps.fetcher.robotsTxt(origin, signal).catch(() => undefined);
  const fromRobots = robots?.kind === 'rules' ? robots.robot.getSitemaps() : [];
  const queue = sitemapLocations(origin, fromRobots).map((loc) => ({ loc, nesting: 0 }));
  const seen = new Set(queue.map((q) => q.loc));
  const urls = new Set<string>();
  let read = 0;
  while (queue.length > 0 && read < MAX_SITEMAPS && urls.size < spec.maxPages && !signal.aborted) {
    const { loc, nesting } = queue.shift() as { loc: string; nesting: number };
    read++;
    let sitemap;
    try {
      const res = await deps.fetcher.fetch(loc, { ...deps.limits, accept: 'application/xml,text/xml;q=0.9,*/*;q=0.1', signal });
      sitemap = parseSitemap(sitemapText(res.body, deps.limits.maxBytes));
    } catch (err) {
      // A missing or broken sitemap only means fewer seeds; links are still followed.
      deps.log.debug({ err, sitemap: loc }, 'sitemap not read');
      continue;
    }
    for (const raw of sitemap.locs) {
      const url = normaliseUrl(raw, loc, { stripTrackingParams: spec.stripTrackingParams });
      if (!url) continue;
      if (sitemap.kind === 'index') {
        if (nesting < MAX_INDEX_NESTING && !seen.has(url)) {
          seen.add(url);
          queue.push({ loc: url, nesting: nesting + 1 });
        }
      } else if (scope.admits(url, 0)) urls.add(url);
    }
  }
  return [...urls];
}
