/** Reads the `crawl` object of a batch submission into a CrawlSpec: defaults applied, start URL normalised, patterns compiled once to check them. */
import { z } from 'zod';
import { compilePattern } from '../crawl/crawl-scope.js';
import { normaliseUrl } from '../crawl/url-normaliser.js';
import type { CrawlSpec } from '../models/crawl.js';
import { httpUrl } from './validation.js';

export const CRAWL_DEFAULTS = { maxPages: 1000, maxDepth: 10 } as const;
export const MAX_CRAWL_DEPTH = 100;
const MAX_PATTERNS = 50;

const int = (min: number, max: number) =>
  z.number({ error: 'must be a number' }).int('must be an integer').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const patterns = z
  .array(z.string({ error: 'must be a string' }).superRefine((p, ctx) => {
    try {
      compilePattern(p);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }), { error: 'must be an array of patterns' })
  .max(MAX_PATTERNS, `must hold at most ${MAX_PATTERNS} patterns`)
  .optional()
  .default([]);

const bool = () => z.boolean({ error: 'must be a boolean' });

/** The `crawl` field; `maxUrls` bounds max_pages (a crawl is a batch, under the batch limit). */
export function crawlSchema(maxUrls: number) {
  return z.strictObject(
    {
      url: httpUrl,
      max_pages: int(1, maxUrls).optional().default(Math.min(CRAWL_DEFAULTS.maxPages, maxUrls)),
      max_depth: int(0, MAX_CRAWL_DEPTH).optional().default(CRAWL_DEFAULTS.maxDepth),
      include: patterns,
      exclude: patterns,
      sitemaps: bool().optional().default(true),
      same_site: bool().optional().default(true),
      strip_tracking_params: bool().optional().default(false),
    },
    { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be a JSON object') },
  );
}

export function toCrawlSpec(c: z.infer<ReturnType<typeof crawlSchema>>): CrawlSpec {
  const stripTrackingParams = c.strip_tracking_params;
  return {
    // httpUrl accepted it, so it normalises.
    url: normaliseUrl(c.url, undefined, { stripTrackingParams }) as string,
    maxPages: c.max_pages,
    maxDepth: c.max_depth,
    include: c.include,
    exclude: c.exclude,
    sitemaps: c.sitemaps,
    sameSite: c.same_site,
    stripTrackingParams,
  };
}

/** The spec as the API shows it. */
export function presentCrawlSpec(s: CrawlSpec) {
  return {
    url: s.url, max_pages: s.maxPages, max_depth: s.maxDepth, include: s.include, exclude: s.exclude,
    sitemaps: s.sitemaps, same_site: s.sameSite, strip_tracking_params: s.stripTrackingParams,
  };
}
