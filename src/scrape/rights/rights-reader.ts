/**
 * Reads the rights signals of a page and of its images and decides their verdicts (verdict.ts). The
 * origin files come from OriginFiles (cached per origin); headers and meta tags from the responses.
 *
 * A page: its origin's robots.txt, tdmrep.json and ai.txt for its final URL; its `X-Robots-Tag`,
 * `tdm-reservation` / `tdm-policy` headers; its `<meta name="robots">` (and bot-named) and TDMRep meta tags.
 * An image: what its page says about images (`noai`, `noimageai` in the page's headers and meta: these
 * speak for "the images on this page"); its own origin's files for its URL; and, once downloaded, its own
 * response's `X-Robots-Tag` and TDMRep headers. A page's TDMRep answer is not inherited: TDMRep speaks
 * per resource, and an image is its own resource. A data: image has only what its page says.
 */
import type { OriginFiles } from './origin-files.js';
import { aiTxtSignals, robotsTxtSignals } from './robots-signals.js';
import { tdmrepFileSignals } from './tdmrep-file.js';
import { metaRobotsSignals, tdmHeaderSignals, tdmMetaSignals, xRobotsTagSignals, type MetaTag } from './directive-signals.js';
import type { RightsTokens } from './tokens.js';
import { decideRights, type RightsRecord, type RightsSignal } from './verdict.js';

export interface ResponseHeaders {
  headers: Readonly<Record<string, string>>;
  headerLists?: Readonly<Record<string, string[]>>;
}

export interface PageRights {
  record: RightsRecord;
  /** What the page says about its images, for each image's record. */
  forImages: RightsSignal[];
}

function xRobotsTagValues(r: ResponseHeaders): string[] {
  const list = r.headerLists?.['x-robots-tag'];
  if (list) return list;
  const one = r.headers['x-robots-tag'];
  return one === undefined ? [] : [one];
}

/** Signals of one response's own headers. */
export function responseSignals(url: string, response: ResponseHeaders, tokens: RightsTokens, subject: 'page' | 'image'): RightsSignal[] {
  return [...xRobotsTagSignals(xRobotsTagValues(response), `X-Robots-Tag of ${url}`, tokens, subject), ...tdmHeaderSignals(response.headers, url)];
}

export class RightsReader {
  constructor(private readonly files: OriginFiles, readonly tokens: RightsTokens) {}

  async page(url: string, response: ResponseHeaders, meta: readonly MetaTag[], signal?: AbortSignal): Promise<PageRights> {
    const target = new URL(url);
    const signals = [
      ...(await this.originSignals(target, signal)),
      ...responseSignals(url, response, this.tokens, 'page'),
      ...metaRobotsSignals(meta, url, this.tokens, 'page'),
      ...tdmMetaSignals(meta, url),
    ];
    const forImages = [
      ...xRobotsTagSignals(xRobotsTagValues(response), `X-Robots-Tag of the page ${url}`, this.tokens, 'image'),
      ...metaRobotsSignals(meta, `the page ${url}`, this.tokens, 'image'),
    ];
    return { record: decideRights(signals), forImages };
  }

  /** What is known of an image before it is downloaded: its page's word and its origin's files. */
  async imageBeforeDownload(url: string, forImages: readonly RightsSignal[], signal?: AbortSignal): Promise<RightsSignal[]> {
    if (!/^https?:/i.test(url)) return [...forImages];
    return [...forImages, ...(await this.originSignals(new URL(url), signal))];
  }

  private async originSignals(target: URL, signal?: AbortSignal): Promise<RightsSignal[]> {
    const files = await this.files.get(target.origin, signal);
    return [...robotsTxtSignals(files.robots, target, this.tokens), ...tdmrepFileSignals(files.tdmrep, target), ...aiTxtSignals(files.aiTxt, target, this.tokens)];
  }
}
