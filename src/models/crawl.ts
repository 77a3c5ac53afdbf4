/** Domain types of crawls: a batch whose URL list grows from a start URL (its frontier lives in the task store). */

import type { KindOptions } from './task.js';

/** A crawl as submitted, validated and with its defaults applied. Immutable once the batch exists. */
export interface CrawlSpec {
  /** The start URL, normalised. */
  url: string;
  /** Pages admitted to the crawl at most (the start URL included); never exceeded, also under races. */
  maxPages: number;
  /** Links away from the start URL at most (sitemap URLs are seeds: depth 0). */
  maxDepth: number;
  /** Glob or `/regex/flags` patterns over the whole normalised URL (crawl-scope.ts). */
  include: string[];
  exclude: string[];
  /** Read robots.txt `Sitemap:` lines and /sitemap.xml when the start page is done. */
  sitemaps: boolean;
  /** Only the start URL's host (a leading `www.` ignored). */
  sameSite: boolean;
  /** Drop utm_*, gclid, fbclid and other common tracking parameters when normalising. */
  stripTrackingParams: boolean;
  /**
   * The batch's task options (text format, images options), kept with the crawl so that every page it
   * admits later gets its tasks made as the start page's were.
   */
  pageOptions?: KindOptions;
}

/** A URL found by a crawl: normalised, with its distance from the start. */
export interface FrontierCandidate {
  url: string;
  depth: number;
}

export interface CrawlCounters {
  /** Distinct URLs in scope seen so far (admitted or over max_pages). */
  discovered: number;
  /** Pages admitted (each has its tasks); at most max_pages. */
  queued: number;
  /** Admitted pages whose tasks have all finished. */
  done: number;
  /** The deepest depth among admitted pages. */
  depthReached: number;
}
