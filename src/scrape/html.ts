/**
 * One parse of an HTML page → its title, whole-page text, metadata, every image it references, and the main
 * content (as text and as Markdown) when the page's tasks ask for it (`ExtractParts`).
 *
 * cheerio/slim parses with htmlparser2: measured about 2.5× faster than parse5 on an 850 kB page here, and
 * it parses <noscript> content as elements (parse5, scripting on, makes it text), so lazy-loading fallbacks
 * are found.
 */
import { load } from 'cheerio/slim';
// domhandler and htmlparser2 are what cheerio/slim parses with; parsing with them here lets a handler cap depth.
import { DomHandler, isText, type Document, type Element } from 'domhandler';
import { Parser } from 'htmlparser2';
import { countWords, primaryLanguage } from './language.js';
import { findMainContent, MAIN_HIDDEN } from './main-content.js';
import { toMarkdown } from './markdown.js';
import type { PageMetadata } from '../models/task.js';
import { extractMetadata } from './metadata.js';
import { renderText } from './text-builder.js';
import { extractImageTexts, type ImageText } from './image-texts.js';
import type { MetaTag } from './rights/directive-signals.js';
import { rightsMetaTags } from './rights/meta-tags.js';
import { ScrapeError } from './scrape-error.js';

export interface ExtractedPage {
  title?: string;
  /** The whole page's text (format `text`). */
  text: string;
  /** The main content as text (format `main`): the article or post body and its headings. When asked for. */
  main?: string;
  /** The main content as Markdown (format `markdown`). When asked for. */
  markdown?: string;
  /** Its word count (of the main content) only when the main content was asked for. */
  metadata: PageMetadata;
  /** Absolute http(s) URLs without fragment, or data:image URIs; distinct, in order of first appearance. */
  images: string[];
  /** Alt, title, figcaption, nearby text and chosen caption per image URL (image-texts.ts). */
  imageTexts: Record<string, ImageText>;
  /** The meta tags a rights record reads (rights/meta-tags.ts). */
  rightsMeta: MetaTag[];
  /**
   * Where the page links to, for crawls: `a[href]` and `area[href]` without rel=nofollow, resolved, http(s)
   * only, fragment dropped; distinct, in order, at most MAX_LINKS. Empty when a robots meta tag says nofollow.
   */
  links: string[];
}

/** Links kept per page: they cross a thread boundary and feed the crawl frontier. */
export const MAX_LINKS = 5000;

const IMAGE_META = new Set(['og:image', 'og:image:url', 'og:image:secure_url', 'twitter:image', 'twitter:image:src']);
const IMG_URL_ATTRS = ['src', 'data-src', 'data-lazy-src', 'data-original'];
const IMG_SRCSET_ATTRS = ['srcset', 'data-srcset', 'data-lazy-srcset'];



/**
 * What is extracted beyond the text, metadata, images and links every task may read. The main content and
 * its Markdown are most of a parse's cost (Markdown: turndown re-parses the content with domino), so they
 * are made only for the tasks that read them.
 */
export interface ExtractParts {
  /** The main content's text, and the word count measured on it (text tasks: their metadata needs it). */
  main: boolean;
  /** The main content as Markdown (implies `main`'s content search, not its text). */
  markdown: boolean;
}

export const NO_PARTS: ExtractParts = { main: false, markdown: false };
export const ALL_PARTS: ExtractParts = { main: true, markdown: true };

/** Whether `have` holds everything `want` asks for. */
export function coversParts(have: ExtractParts, want: ExtractParts): boolean {
  return (have.main || !want.main) && (have.markdown || !want.markdown);
}

export function unionParts(a: ExtractParts, b: ExtractParts): ExtractParts {
  return { main: a.main || b.main, markdown: a.markdown || b.markdown };
}

export interface ExtractOptions {
  /** Default: all of them. */
  parts?: ExtractParts;
  /**
   * Deepest element nesting accepted; a page nesting deeper fails with `too_large`. htmlparser2 keeps its
   * open elements in an array it unshifts, so parsing costs (elements × depth): 100k nested <div>s take seconds.
   */
  maxDepth?: number;
}

/** The options cheerio/slim's load gives htmlparser2. */
const PARSE_OPTIONS = { xmlMode: false, decodeEntities: true };

/** A DomHandler that refuses an element nested deeper than `maxDepth`, before the parse grows quadratic. */
class DepthCappedHandler extends DomHandler {
  constructor(private readonly maxDepth: number) {
    super(undefined, PARSE_OPTIONS);
  }

  override onopentag(name: string, attribs: Record<string, string>): void {
    // tagStack holds the document and each open element: its length is the depth of the new element.
    if (this.tagStack.length > this.maxDepth) {
      throw new ScrapeError('too_large', `the page nests elements more than ${this.maxDepth} deep`);
    }
    super.onopentag(name, attribs);
  }
}

function parseDocument(html: string, maxDepth: number): Document {
  const handler = new DepthCappedHandler(maxDepth);
  new Parser(handler, PARSE_OPTIONS).end(html);
  return handler.root;
}

export function extractPage(html: string, pageUrl: string, options: ExtractOptions = {}): ExtractedPage {
  const $ = load(parseDocument(html, options.maxDepth ?? Infinity));
  const refs: string[] = [];
  let title: string | undefined;
  let baseHref: string | undefined;
  const hrefs: string[] = [];
  let nofollow = false;
  const text = renderText($.root()[0]!.children, {
    visit: (el, name, visible) => {
      collectImageRefs(el, name, refs);
      if (collectLink(el, name, hrefs)) nofollow = true;
      if (name === 'base' && baseHref === undefined && el.attribs['href'] !== undefined) baseHref = el.attribs['href'];
      if (name === 'title' && title === undefined && visible) title = collapse(textOf(el)) || undefined;
    },
  });

  const base = baseUrl(baseHref, pageUrl);
  const refsOf = (el: Element) => {
    const own: string[] = [];
    collectImageRefs(el, el.name.toLowerCase(), own);
    return resolveImageRefs(own, base);
  };
  // Before Markdown, which rewrites the content's subtree.
  const imageTexts = extractImageTexts($, refsOf);
  const rightsMeta = rightsMetaTags($);
  const root = $.root()[0]!;
  const metadata = extractMetadata(root, base?.href ?? pageUrl);
  // The declared language for now; the task runner detects the main text's (language.ts says why there).
  const language = primaryLanguage(metadata.language);
  if (language) metadata.language = language;
  else delete metadata.language;
  const links = nofollow ? [] : resolveLinks(hrefs, base);
  const page: ExtractedPage = { title, text, metadata, images: resolveImageRefs(refs, base), imageTexts, rightsMeta, links };
  const parts = options.parts ?? ALL_PARTS;
  if (!parts.main && !parts.markdown) return page;
  const content = findMainContent(root);
  const skip = (el: Element) => content?.pruned.has(el) ?? false;
  if (parts.main) {
    page.main = content ? renderText(content.roots, { skip, hidden: MAIN_HIDDEN }) : '';
    metadata.wordCount = countWords(page.main);
  }
  if (parts.markdown) {
    // Last: Markdown rewrites the content's subtree (absolute URLs, pruned elements removed).
    const hidden = (el: Element) => skip(el) || MAIN_HIDDEN.has(el.name.toLowerCase());
    page.markdown = content ? toMarkdown(content.roots, hidden, base?.href ?? pageUrl, metadata.title ?? title) : '';
  }
  return page;
}

/** Collects a followable link of `el`; true when `el` is a robots meta tag saying nofollow (or none). */
function collectLink(el: Element, name: string, hrefs: string[]): boolean {
  const a = el.attribs;
  if (name === 'a' || name === 'area') {
    const href = a['href'];
    if (href !== undefined && !(a['rel'] ?? '').toLowerCase().split(/\s+/).includes('nofollow')) hrefs.push(href);
    return false;
  }
  if (name !== 'meta' || (a['name'] ?? '').trim().toLowerCase() !== 'robots') return false;
  return (a['content'] ?? '').toLowerCase().split(/[\s,]+/).some((d) => d === 'nofollow' || d === 'none');
}

function resolveLinks(hrefs: string[], base: URL | undefined): string[] {
  const seen = new Set<string>();
  for (const href of hrefs) {
    if (seen.size >= MAX_LINKS) break;
    const resolved = resolveRef(href, base);
    if (resolved !== undefined && !resolved.startsWith('data:')) seen.add(resolved);
  }
  return [...seen];
}

/** Only the main content's text (what the `main` format stores): for the benchmark and the quality floor. */
export function extractMain(html: string): string {
  const content = findMainContent(load(html, { xml: { xmlMode: false, decodeEntities: true } }).root()[0]!);
  return content ? renderText(content.roots, { skip: (el) => content.pruned.has(el), hidden: MAIN_HIDDEN }) : '';
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function textOf(el: Element): string {
  return el.children.map((c) => (isText(c) ? c.data : '')).join('');
}

function collectImageRefs(el: Element, name: string, refs: string[]): void {
  const a = el.attribs;
  const url = (value: string | undefined) => {
    if (value !== undefined) refs.push(value);
  };
  const srcset = (value: string | undefined) => {
    if (value !== undefined) refs.push(...parseSrcset(value));
  };
  switch (name) {
    case 'img':
      IMG_URL_ATTRS.forEach((attr) => url(a[attr]));
      IMG_SRCSET_ATTRS.forEach((attr) => srcset(a[attr]));
      break;
    case 'source':
      // source[src] is a video or audio file; only picture's srcset candidates are images.
      IMG_SRCSET_ATTRS.forEach((attr) => srcset(a[attr]));
      break;
    case 'meta': {
      const key = (a['property'] ?? a['name'] ?? '').trim().toLowerCase();
      if (IMAGE_META.has(key)) url(a['content']);
      break;
    }
    case 'link':
      if ((a['rel'] ?? '').toLowerCase().split(/\s+/).includes('image_src')) url(a['href']);
      break;
    case 'input':
      if ((a['type'] ?? '').trim().toLowerCase() === 'image') url(a['src']);
      break;
    case 'video':
      url(a['poster']);
      break;
  }
}

/**
 * The URLs of a srcset, following the HTML spec's candidate parsing: a URL runs to the next whitespace
 * (so it may contain commas, as in CDN resizing URLs), trailing commas end a candidate without
 * descriptors, and descriptors run to the next comma outside parentheses.
 */
export function parseSrcset(value: string): string[] {
  const urls: string[] = [];
  let pos = 0;
  const n = value.length;
  const isSpace = (ch: string | undefined) => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f';
  while (pos < n) {
    while (pos < n && (isSpace(value[pos]) || value[pos] === ',')) pos++;
    if (pos >= n) break;
    const start = pos;
    while (pos < n && !isSpace(value[pos])) pos++;
    let url = value.slice(start, pos);
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      let depth = 0;
      for (; pos < n; pos++) {
        const ch = value[pos];
        if (ch === '(') depth++;
        else if (ch === ')') depth = Math.max(0, depth - 1);
        else if (ch === ',' && depth === 0) break;
      }
    }
    if (url) urls.push(url);
  }
  return urls;
}

/** <base href> is resolved against the page; one that does not give an http(s) URL is ignored. */
function baseUrl(baseHref: string | undefined, pageUrl: string): URL | undefined {
  const page = URL.canParse(pageUrl) ? new URL(pageUrl) : undefined;
  if (baseHref === undefined) return page;
  try {
    const base = new URL(baseHref.trim(), page);
    return base.protocol === 'http:' || base.protocol === 'https:' ? base : page;
  } catch {
    return page;
  }
}

function resolveImageRefs(refs: string[], base: URL | undefined): string[] {
  const seen = new Set<string>();
  for (const ref of refs) {
    const resolved = resolveRef(ref, base);
    if (resolved !== undefined) seen.add(resolved);
  }
  return [...seen];
}

function resolveRef(ref: string, base: URL | undefined): string | undefined {
  // As the URL parser would: tabs and newlines vanish, surrounding spaces are trimmed.
  const cleaned = ref.replace(/[\t\n\r]/g, '').trim();
  if (!cleaned) return undefined;
  if (/^data:/i.test(cleaned)) return /^data:image\//i.test(cleaned) ? cleaned : undefined;
  try {
    const url = new URL(cleaned, base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    url.hash = '';
    return url.href;
  } catch {
    return undefined;
  }
}
