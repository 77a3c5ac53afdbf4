/**
 * One parse of an HTML page → its title, readable text and every image it references.
 *
 * cheerio/slim parses with htmlparser2: measured about 2.5× faster than parse5 on an 850 kB page here, and
 * it parses <noscript> content as elements (parse5, scripting on, makes it text), so lazy-loading fallbacks
 * are found.
 */
import { load } from 'cheerio/slim';
// domhandler and htmlparser2 are what cheerio/slim parses with; parsing with them here lets a handler cap depth.
import { DomHandler, isTag, isText, type AnyNode, type Document, type Element } from 'domhandler';
import { Parser } from 'htmlparser2';
import { extractImageTexts, type ImageText } from './image-texts.js';
import type { MetaTag } from './rights/directive-signals.js';
import { rightsMetaTags } from './rights/meta-tags.js';
import { ScrapeError } from './scrape-error.js';

export interface ExtractedPage {
  title?: string;
  text: string;
  /** Absolute http(s) URLs without fragment, or data:image URIs; distinct, in order of first appearance. */
  images: string[];
  /** Alt, title, figcaption, nearby text and chosen caption per image URL (image-texts.ts). */
  imageTexts: Record<string, ImageText>;
  /** The meta tags a rights record reads (rights/meta-tags.ts). */
  rightsMeta: MetaTag[];
}

/** Content that is never rendered as text. */
const HIDDEN = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'object', 'canvas', 'select', 'datalist']);

/** Elements that stand apart from their neighbours by a blank line. */
const PARAGRAPHS = new Set([
  'title', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'table', 'ul', 'ol', 'dl', 'hr', 'figure',
  'section', 'article', 'header', 'footer', 'form', 'fieldset', 'nav', 'main', 'aside', 'address', 'details', 'hgroup',
]);

/** Elements that start and end a line. */
const LINES = new Set([
  'html', 'body', 'div', 'li', 'dt', 'dd', 'tr', 'caption', 'thead', 'tbody', 'tfoot', 'figcaption', 'summary', 'legend',
  'center', 'search', 'dialog', 'menu', 'option',
]);

/** Table cells on one row stay on one line, kept apart by a space. */
const CELLS = new Set(['td', 'th']);

const IMAGE_META = new Set(['og:image', 'og:image:url', 'og:image:secure_url', 'twitter:image', 'twitter:image:src']);
const IMG_URL_ATTRS = ['src', 'data-src', 'data-lazy-src', 'data-original'];
const IMG_SRCSET_ATTRS = ['srcset', 'data-srcset', 'data-lazy-srcset'];

/** Builds text line by line: runs of whitespace collapse, lines are trimmed, blank lines never repeat. */
class TextBuilder {
  private readonly lines: string[] = [];
  private line = '';
  /** Separator owed before the next non-empty line: 1 newline, 2 a blank line. */
  private pending = 0;

  add(text: string): void {
    this.line += text;
  }

  /** A block boundary; `gap` 2 asks for a blank line. */
  boundary(gap: 1 | 2): void {
    const text = this.line.replace(/\s+/g, ' ').trim();
    this.line = '';
    if (text) {
      if (this.pending === 2 && this.lines.length > 0) this.lines.push('');
      this.lines.push(text);
      this.pending = 0;
    }
    this.pending = Math.max(this.pending, gap);
  }

  /** <br>: a second one in a row makes a blank line, as it does on screen. */
  lineBreak(): void {
    const emptyLine = !this.line.trim();
    this.boundary(1);
    if (emptyLine && this.lines.length > 0) this.pending = 2;
  }

  toString(): string {
    this.boundary(1);
    return this.lines.join('\n');
  }
}

type Frame = { node: AnyNode; visible: boolean; pre: boolean } | { leave: Element; gap: 1 | 2 | 0; cell: boolean };

export interface ExtractOptions {
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
  const text = new TextBuilder();
  const refs: string[] = [];
  let title: string | undefined;
  let baseHref: string | undefined;

  // An explicit stack, not recursion: hostile pages nest elements deep enough to overflow the call stack.
  const stack: Frame[] = [...$.root()[0]!.children].reverse().map((node) => ({ node, visible: true, pre: false }));
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      if (frame.gap) text.boundary(frame.gap);
      if (frame.cell) text.add(' ');
      continue;
    }
    const { node, visible, pre } = frame;
    if (isText(node)) {
      if (visible) addText(text, node.data, pre);
      continue;
    }
    if (!isTag(node)) continue;
    const el = node;
    const name = el.name.toLowerCase();
    collectImageRefs(el, name, refs);
    if (name === 'base' && baseHref === undefined && el.attribs['href'] !== undefined) baseHref = el.attribs['href'];
    if (name === 'title' && title === undefined && visible) title = collapse(textOf(el)) || undefined;
    if (name === 'br') {
      if (visible) text.lineBreak();
      continue;
    }
    const childVisible = visible && !HIDDEN.has(name);
    const gap = !childVisible ? 0 : PARAGRAPHS.has(name) ? 2 : LINES.has(name) ? 1 : 0;
    if (gap) text.boundary(gap);
    if (childVisible && CELLS.has(name)) text.add(' ');
    stack.push({ leave: el, gap, cell: childVisible && CELLS.has(name) });
    const childPre = pre || name === 'pre' || name === 'textarea' || name === 'listing';
    for (let i = el.children.length - 1; i >= 0; i--) stack.push({ node: el.children[i]!, visible: childVisible, pre: childPre });
  }

  const base = baseUrl(baseHref, pageUrl);
  const refsOf = (el: Element) => {
    const own: string[] = [];
    collectImageRefs(el, el.name.toLowerCase(), own);
    return resolveImageRefs(own, base);
  };
  return { title, text: text.toString(), images: resolveImageRefs(refs, base), imageTexts: extractImageTexts($, refsOf), rightsMeta: rightsMetaTags($) };
}

/** Inside <pre> a newline is a line break; elsewhere it is just whitespace. */
function addText(text: TextBuilder, data: string, pre: boolean): void {
  if (!pre) return text.add(data);
  const parts = data.split('\n');
  parts.forEach((part, i) => {
    if (i > 0) text.lineBreak();
    text.add(part);
  });
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
    const resolved = resolveImageRef(ref, base);
    if (resolved !== undefined) seen.add(resolved);
  }
  return [...seen];
}

function resolveImageRef(ref: string, base: URL | undefined): string | undefined {
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
