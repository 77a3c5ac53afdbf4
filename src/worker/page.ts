import type { PageInfo, PageMetadata, TextFormat } from '../models/task.js';
import { decodeHtml } from '../scrape/decode.js';
import { countWords, detectLanguage } from '../scrape/language.js';
import type { Fetcher } from '../scrape/fetcher.js';
import type { PageExtractor } from '../scrape/page-extractor.js';
import type { RecentPages } from './recent-pages.js';
import { ScrapeError } from '../scrape/scrape-error.js';

export interface PageFetcher {
  fetcher: Fetcher;
  extractor: PageExtractor;
  /** Shares one fetch and parse between the tasks of one URL that run close together. */
  recent?: RecentPages;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

export interface FetchedPage {
  info: PageInfo;
  /** The page's text in each text format. */
  texts: Record<TextFormat, string>;
  metadata: PageMetadata;
  images: string[];
}

const HTML_TYPES = /^(text\/html|application\/xhtml\+xml)$/i;

/** The page of a task: fetched and parsed, or reused from a task of the same URL moments ago (unless `fresh`). */
export function fetchPage(pages: PageFetcher, url: string, signal: AbortSignal, fresh = false): Promise<FetchedPage> {
  return pages.recent ? pages.recent.get(url, () => loadPage(pages, url, signal), fresh) : loadPage(pages, url, signal);
}

/** Fetches a page and extracts its text and image references; a non-HTML page is a typed error. */
async function loadPage(pages: PageFetcher, url: string, signal: AbortSignal): Promise<FetchedPage> {
  const res = await pages.fetcher.fetch(url, {
    timeoutMs: pages.timeoutMs,
    maxBytes: pages.maxBytes,
    maxRedirects: pages.maxRedirects,
    accept: 'text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.1',
    signal,
  });
  const mime = res.contentType?.split(';')[0]?.trim() ?? '';
  const info: PageInfo = { finalUrl: res.finalUrl, httpStatus: res.status, contentType: res.contentType, bytes: res.body.length };
  if (res.proxy) info.proxy = res.proxy;
  if (mime.toLowerCase() === 'text/plain') {
    const text = normalisePlainText(decodeHtml(res.body, res.contentType));
    // A plain-text document is all content: each format is the text itself.
    const metadata: PageMetadata = { wordCount: countWords(text) };
    const language = detectLanguage(text);
    if (language) metadata.language = language;
    return { info, texts: { text, main: text, markdown: text }, metadata, images: [] };
  }
  // A server that names no type is usually sending HTML; anything else named is not a page we can read.
  if (mime && !HTML_TYPES.test(mime)) {
    throw new ScrapeError('not_html', `expected an HTML page, got ${mime}`, { httpStatus: res.status });
  }
  const extracted = await pages.extractor.extract({ body: res.body, contentType: res.contentType, pageUrl: res.finalUrl }, signal);
  return {
    info: { ...info, title: extracted.title },
    texts: { text: extracted.text, main: extracted.main, markdown: extracted.markdown },
    metadata: extracted.metadata,
    images: extracted.images,
  };
}

function normalisePlainText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/[ \t\f\v]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
