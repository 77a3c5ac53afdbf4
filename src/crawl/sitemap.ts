/**
 * Sitemaps (sitemaps.org): a `<urlset>` lists pages, a `<sitemapindex>` lists further sitemaps. Read with
 * htmlparser2's streaming tokenizer in XML mode (linear time, no tree), so a 50 MB sitemap costs little.
 * A gzipped sitemap (`.xml.gz` served as application/gzip, not Content-Encoding) is unpacked here with
 * the same byte cap as any body. Pure: no I/O.
 */
import { gunzipSync } from 'node:zlib';
import { Parser } from 'htmlparser2';
import { ScrapeError } from '../scrape/scrape-error.js';

export interface Sitemap {
  kind: 'urlset' | 'index' | 'unknown';
  /** The `<loc>` values in order, trimmed; relative or bad ones are the caller's to drop. */
  locs: string[];
}

/** The local name of an element, without its namespace prefix (`sm:loc` → `loc`). */
const local = (name: string): string => name.slice(name.indexOf(':') + 1).toLowerCase();

export function parseSitemap(xml: string): Sitemap {
  const result: Sitemap = { kind: 'unknown', locs: [] };
  let inLoc = false;
  let text = '';
  const parser = new Parser({
    onopentag(name) {
      const n = local(name);
      if (result.kind === 'unknown' && n === 'urlset') result.kind = 'urlset';
      else if (result.kind === 'unknown' && n === 'sitemapindex') result.kind = 'index';
      if (n === 'loc') {
        inLoc = true;
        text = '';
      }
    },
    ontext(data) {
      if (inLoc) text += data;
    },
    onclosetag(name) {
      if (local(name) !== 'loc' || !inLoc) return;
      inLoc = false;
      const loc = text.trim();
      if (loc) result.locs.push(loc);
    },
  }, { xmlMode: true, decodeEntities: true });
  parser.end(xml);
  return result;
}

const isGzip = (body: Buffer): boolean => body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;

/** The sitemap's text: gunzipped when the body is gzip data (whatever it was served as), at most `maxBytes`. */
export function sitemapText(body: Buffer, maxBytes: number): string {
  if (!isGzip(body)) return body.toString('utf8');
  try {
    // maxOutputLength stops beyond the cap: a gzip bomb fails instead of filling memory.
    return gunzipSync(body, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    throw new ScrapeError('too_large', `the gzipped sitemap is not readable within ${maxBytes} bytes (${(err as Error).message})`);
  }
}

/** Where a site's sitemaps may be: its robots.txt `Sitemap:` lines and the conventional /sitemap.xml. */
export function sitemapLocations(origin: string, fromRobots: readonly string[]): string[] {
  return [...new Set([...fromRobots, new URL('/sitemap.xml', origin).href])];
}
