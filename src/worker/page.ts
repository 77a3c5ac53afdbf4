import type { ImageText, PageInfo, PageMetadata, TextFormat } from '../models/task.js';
import { decodeHtml } from '../scrape/decode.js';
import { countWords, detectLanguage } from '../scrape/language.js';
import type { Fetcher, FetchResult } from '../scrape/fetcher.js';
import type { MetaTag } from '../scrape/rights/directive-signals.js';
import type { PageExtractor } from '../scrape/page-extractor.js';
import type { RecentPages } from './recent-pages.js';
import type { PageRights } from '../scrape/rights/rights-reader.js';
import { ScrapeError } from '../scrape/scrape-error.js';
import type { RightsDeps } from './rights-policy.js';

export interface PageFetcher {
  fetcher: Fetcher;
  extractor: PageExtractor;
  /** Shares one fetch and parse between the tasks of one URL that run close together. */
  recent?: RecentPages;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** Rights signals are read and the policy applied; absent with RIGHTS_POLICY=off. */
  rights?: RightsDeps;
}

export interface FetchedPage {
  /** With `rights` set to the page's record when signals are read. */
  info: PageInfo;
  /** The page's text in each text format. */
  texts: Record<TextFormat, string>;
  metadata: PageMetadata;
  images: string[];
  /** Alt, title, figcaption, nearby text and caption per image URL. */
  imageTexts: Record<string, ImageText>;
  /** What the page's signals say about it, and about its images. */
  rights?: PageRights;
  /** Followable links (crawls): absolute, fragment dropped. */
  links: string[];
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
    const language = await detectLanguage(text);
    if (language) metadata.language = language;
    return withRights(pages, { info, texts: { text, main: text, markdown: text }, metadata, images: [], imageTexts: {}, links: [] }, res, [], signal);
  }
  // A server that names no type is usually sending HTML; anything else named is not a page we can read.
  if (mime && !HTML_TYPES.test(mime)) {
    throw new ScrapeError('not_html', `expected an HTML page, got ${mime}`, { httpStatus: res.status });
  }
  const extracted = await pages.extractor.extract({ body: res.body, contentType: res.contentType, pageUrl: res.finalUrl }, signal);
  const page = {
    info: { ...info, title: extracted.title },
    texts: { text: extracted.text, main: extracted.main, markdown: extracted.markdown },
    metadata: await withLanguage(extracted.metadata, extracted.main),
    images: extracted.images,
    imageTexts: extracted.imageTexts,
    links: extracted.links,
  };
  return withRights(pages, page, res, extracted.rightsMeta, signal);
}

/** The main text's language when it tells (ISO 639-1), else the page's declared one. */
async function withLanguage(metadata: PageMetadata, main: string): Promise<PageMetadata> {
  const detected = await detectLanguage(main);
  return detected ? { ...metadata, language: detected } : metadata;
}

/** Reads the page's rights signals (its origin's files, its headers, its meta tags) into its record. */
async function withRights(pages: PageFetcher, page: FetchedPage, res: FetchResult, meta: MetaTag[], signal: AbortSignal): Promise<FetchedPage> {
  if (!pages.rights) return page;
  const rights = await pages.rights.reader.page(res.finalUrl, res, meta, signal);
  return { ...page, info: { ...page.info, rights: rights.record }, rights };
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
