import type { ImageText, PageInfo, PageMetadata, TextFormat } from '../models/task.js';
import { decodeHtml } from '../scrape/decode.js';
import { countWords, detectLanguage } from '../scrape/language.js';
import type { Fetcher, FetchResult } from '../scrape/fetcher.js';
import type { MetaTag } from '../scrape/rights/directive-signals.js';
import type { PageExtractor } from '../scrape/page-extractor.js';
import { ALL_PARTS, unionParts, type ExtractedPage, type ExtractParts } from '../scrape/html.js';
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
  /** The page's text in each text format extracted (`parts` says which beyond `text`). */
  texts: Partial<Record<TextFormat, string>> & { text: string };
  /** What was extracted: a task that needs more completes the page from `source` (completePage). */
  parts: ExtractParts;
  /** The HTML as fetched, kept while the page is reused, to extract what a later task needs and this lacks. */
  source?: { body: Buffer; contentType?: string; finalUrl: string };
  /** With the word count and detected language only when the main content was extracted. */
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

/**
 * The page of a task with at least the `parts` it reads: fetched and parsed, or reused from a task of the
 * same URL moments ago (unless `fresh`), completed from the kept HTML when that task needed less.
 */
export function fetchPage(pages: PageFetcher, url: string, parts: ExtractParts, signal: AbortSignal, fresh = false): Promise<FetchedPage> {
  if (!pages.recent) return loadPage(pages, url, parts, signal);
  return pages.recent.get(url, parts, { load: () => loadPage(pages, url, parts, signal), complete: (page) => completePage(pages, page, parts, signal) }, fresh);
}

/** Fetches a page and extracts its text and image references; a non-HTML page is a typed error. */
async function loadPage(pages: PageFetcher, url: string, parts: ExtractParts, signal: AbortSignal): Promise<FetchedPage> {
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
    return withRights(pages, { info, texts: { text, main: text, markdown: text }, parts: ALL_PARTS, metadata, images: [], imageTexts: {}, links: [] }, res, [], signal);
  }
  // A server that names no type is usually sending HTML; anything else named is not a page we can read.
  if (mime && !HTML_TYPES.test(mime)) {
    throw new ScrapeError('not_html', `expected an HTML page, got ${mime}`, { httpStatus: res.status });
  }
  const source = { body: res.body, contentType: res.contentType, finalUrl: res.finalUrl };
  const extracted = await pages.extractor.extract({ body: source.body, contentType: source.contentType, pageUrl: source.finalUrl, parts }, signal);
  const page = await fromExtracted({ info, parts, source }, extracted);
  return withRights(pages, page, res, extracted.rightsMeta, signal);
}

/**
 * `page` with `parts` too: extracted again from its kept HTML with everything both need (the parse
 * thread keeps no tree between pages). Its fetch, info and rights stay as they were.
 */
async function completePage(pages: PageFetcher, page: FetchedPage, parts: ExtractParts, signal: AbortSignal): Promise<FetchedPage> {
  if (!page.source) throw new Error('a page extracted without some parts must keep its HTML');
  const all = unionParts(page.parts, parts);
  const { source } = page;
  const extracted = await pages.extractor.extract({ body: source.body, contentType: source.contentType, pageUrl: source.finalUrl, parts: all }, signal);
  return fromExtracted({ ...page, parts: all }, extracted);
}

async function fromExtracted(page: Pick<FetchedPage, 'info' | 'parts' | 'source' | 'rights'>, extracted: ExtractedPage): Promise<FetchedPage> {
  const texts: FetchedPage['texts'] = { text: extracted.text };
  if (extracted.main !== undefined) texts.main = extracted.main;
  if (extracted.markdown !== undefined) texts.markdown = extracted.markdown;
  return {
    ...page,
    info: { ...page.info, title: extracted.title },
    texts,
    metadata: extracted.main === undefined ? extracted.metadata : await withLanguage(extracted.metadata, extracted.main),
    images: extracted.images,
    imageTexts: extracted.imageTexts,
    links: extracted.links,
  };
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
