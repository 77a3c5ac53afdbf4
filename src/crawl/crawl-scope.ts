/**
 * Which discovered URLs a crawl follows: same site (by default), within max depth, matching include and
 * exclude patterns. Patterns are matched against the whole normalised URL:
 * - `/…/flags` is a JavaScript regular expression (flags: i, u), searched anywhere in the URL;
 * - anything else is a glob that must match the whole URL: `**` any characters, `*` any characters but `/`,
 *   `?` one character but `/`; everything else literal.
 * A URL is followed when it matches some include pattern (or there are none) and no exclude pattern.
 * Both kinds run on RE2 (re2js): matching takes time linear in the URL whatever the pattern, so no pattern a
 * user sends can stall the thread that admits links (standalone, the one that also serves the API). RE2 has
 * no backreferences or lookaround; a pattern that uses them is refused. Pure: no I/O.
 */
import { RE2JS } from 're2js';
import type { CrawlSpec } from '../models/crawl.js';

/** Longer patterns are refused: a crawl's patterns run on every link of every page. */
export const MAX_PATTERN_LENGTH = 500;

export type UrlPattern = (url: string) => boolean;

/** A pattern as a predicate; throws Error with a message fit for the user when it is not valid. */
export function compilePattern(pattern: string): UrlPattern {
  if (pattern.length === 0) throw new Error('must not be empty');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new Error(`must be at most ${MAX_PATTERN_LENGTH} characters`);
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (regex) {
    const [, source, flags] = regex as unknown as [string, string, string];
    if (/[^iu]/.test(flags)) throw new Error('a regular expression may only use the flags i and u');
    let re: RE2JS;
    try {
      // RE2 matches by code point, so `u` needs no flag of its own.
      re = RE2JS.compile(source, flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (err) {
      throw new Error(`is not a valid regular expression (RE2 syntax: no backreferences or lookaround): ${(err as Error).message}`);
    }
    return (url) => re.test(url);
  }
  const re = globToRE2(pattern);
  return (url) => re.test(url);
}

/** A glob as an RE2 expression anchored at both ends (`**` may span line breaks, as it spans anything). */
export function globToRE2(glob: string): RE2JS {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return RE2JS.compile(`^${out}$`, RE2JS.DOTALL);
}

/** A host without a leading `www.`: example.com and www.example.com are one site. */
const siteOf = (host: string): string => host.replace(/^www\./, '');

export interface CrawlScope {
  /** Whether a normalised URL found at `depth` is followed. */
  admits(url: string, depth: number): boolean;
}

export function crawlScope(spec: Pick<CrawlSpec, 'url' | 'maxDepth' | 'include' | 'exclude' | 'sameSite'>): CrawlScope {
  const include = spec.include.map(compilePattern);
  const exclude = spec.exclude.map(compilePattern);
  const site = siteOf(new URL(spec.url).hostname);
  return {
    admits(url, depth) {
      if (depth > spec.maxDepth) return false;
      if (spec.sameSite && siteOf(new URL(url).hostname) !== site) return false;
      if (include.length > 0 && !include.some((p) => p(url))) return false;
      return !exclude.some((p) => p(url));
    },
  };
}
