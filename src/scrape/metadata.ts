/**
 * A page's metadata from its parsed tree: title, description, author, dates, canonical URL, site name and
 * licence, from (in order of trust) JSON-LD, Open Graph / article / Dublin Core / Twitter meta tags,
 * microdata, and plain HTML (<title>, <link rel=canonical|license>, Creative Commons links).
 */
import { isTag, type AnyNode, type Document, type Element } from 'domhandler';
import type { PageMetadata } from '../models/task.js';
import { textContent } from './text-builder.js';


/** Keys of meta tags, by field, most trusted first. */
const META_KEYS: Record<'title' | 'description' | 'author' | 'published' | 'siteName' | 'canonicalUrl', string[]> = {
  title: ['og:title', 'twitter:title', 'dc.title', 'dcterms.title', 'title', 'sailthru.title'],
  description: ['og:description', 'description', 'twitter:description', 'dc.description', 'dcterms.description'],
  author: ['author', 'article:author', 'dc.creator', 'dcterms.creator', 'byl', 'sailthru.author', 'parsely-author', 'twitter:creator'],
  published: [
    'article:published_time', 'og:article:published_time', 'datepublished', 'dc.date.issued', 'dcterms.issued', 'dc.date',
    'dcterms.date', 'date', 'pubdate', 'publishdate', 'publish-date', 'sailthru.date', 'parsely-pub-date', 'article.published',
    'og:published_time', 'article:modified_time',
  ],
  siteName: ['og:site_name', 'application-name', 'twitter:site'],
  canonicalUrl: ['og:url', 'twitter:url'],
};

const CC_LICENSE = /^https?:\/\/(?:www\.)?creativecommons\.org\/(?:licenses|publicdomain)\/[^\s"'<>]+/i;
const MAX_JSON_LD = 256 * 1024;

interface Collected {
  meta: Map<string, string>;
  titleTag?: string;
  h1?: string;
  canonical?: string;
  relLicense?: string;
  ccLink?: string;
  relAuthor?: string;
  itemprop: Map<string, string>;
  timeDatetime?: string;
  htmlLang?: string;
  jsonLd: unknown[];
}

/** Metadata of a parsed page; `pageUrl` resolves relative URLs (canonical, licence). */
export function extractMetadata(doc: Document, pageUrl: string): PageMetadata {
  const c = collect(doc);
  const ld = fromJsonLd(c.jsonLd);
  const meta = (field: keyof typeof META_KEYS) => {
    for (const key of META_KEYS[field]) {
      const value = c.meta.get(key);
      if (value) return value;
    }
    return undefined;
  };
  const out: PageMetadata = {};
  set(out, 'title', ld.title ?? meta('title') ?? c.itemprop.get('headline') ?? c.titleTag ?? c.h1);
  set(out, 'description', meta('description') ?? ld.description);
  set(out, 'author', ld.author ?? meta('author') ?? c.itemprop.get('author') ?? c.relAuthor);
  set(out, 'published', isoDate(ld.published ?? meta('published') ?? c.itemprop.get('datepublished') ?? c.timeDatetime));
  set(out, 'canonicalUrl', absolute(c.canonical ?? meta('canonicalUrl') ?? ld.url, pageUrl));
  set(out, 'siteName', meta('siteName') ?? ld.siteName);
  set(out, 'license', absolute(c.relLicense ?? ld.license ?? c.ccLink, pageUrl));
  set(out, 'language', c.htmlLang);
  return out;
}

function set<K extends keyof PageMetadata>(out: PageMetadata, key: K, value: PageMetadata[K] | undefined): void {
  if (typeof value === 'string') {
    const clean = value.replace(/\s+/g, ' ').trim();
    if (clean) (out as Record<string, unknown>)[key] = clean.slice(0, 2000);
  } else if (value !== undefined) {
    out[key] = value;
  }
}

/** One walk over the tree for every source of metadata. */
function collect(doc: Document): Collected {
  const c: Collected = { meta: new Map(), itemprop: new Map(), jsonLd: [] };
  const stack: AnyNode[] = [...doc.children].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isTag(node)) continue;
    const a = node.attribs;
    switch (node.name.toLowerCase()) {
      case 'html':
        if (a['lang'] && !c.htmlLang) c.htmlLang = a['lang'];
        break;
      case 'title':
        if (c.titleTag === undefined) c.titleTag = textOf(node);
        continue;
      case 'h1':
        if (c.h1 === undefined) c.h1 = textOf(node);
        break;
      case 'meta': {
        const key = (a['property'] ?? a['name'] ?? a['itemprop'] ?? '').trim().toLowerCase();
        const content = a['content'];
        if (key && content && !c.meta.has(key)) c.meta.set(key, content);
        if (a['http-equiv']?.toLowerCase() === 'content-language' && content && !c.htmlLang) c.htmlLang = content;
        break;
      }
      case 'link':
      case 'a': {
        const rel = (a['rel'] ?? '').toLowerCase().split(/\s+/);
        const href = a['href']?.trim();
        if (!href) break;
        if (rel.includes('canonical') && node.name.toLowerCase() === 'link' && c.canonical === undefined) c.canonical = href;
        if (rel.includes('license') && c.relLicense === undefined) c.relLicense = href;
        if (rel.includes('author') && c.relAuthor === undefined && node.name.toLowerCase() === 'a') c.relAuthor = textOf(node);
        if (c.ccLink === undefined && CC_LICENSE.test(href)) c.ccLink = href;
        break;
      }
      case 'script':
        if ((a['type'] ?? '').toLowerCase().trim() === 'application/ld+json') {
          const json = textOf(node);
          if (json.length <= MAX_JSON_LD) {
            try {
              c.jsonLd.push(JSON.parse(json));
            } catch {
              // Broken JSON-LD is common; the meta tags still count.
            }
          }
        }
        continue;
      case 'time':
        if (c.timeDatetime === undefined && a['datetime'] && (a['pubdate'] !== undefined || a['itemprop']?.toLowerCase() === 'datepublished')) {
          c.timeDatetime = a['datetime'];
        }
        break;
      case 'style':
      case 'template':
        continue;
    }
    const itemprop = a['itemprop']?.toLowerCase();
    if (itemprop && !c.itemprop.has(itemprop) && ['headline', 'author', 'datepublished'].includes(itemprop)) {
      const value = a['content'] ?? a['datetime'] ?? (itemprop === 'author' ? textOf(node) : textOf(node));
      if (value.trim()) c.itemprop.set(itemprop, value);
    }
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return c;
}

interface LdFields {
  title?: string;
  description?: string;
  author?: string;
  published?: string;
  siteName?: string;
  license?: string;
  url?: string;
}

const ARTICLE_TYPES = /article|posting|blog|report|webpage|newsarticle|creativework|recipe|review/i;

/** The first JSON-LD object of an article-like type (searching @graph arrays too). */
function fromJsonLd(docs: unknown[]): LdFields {
  const objects: Record<string, unknown>[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 4 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v) => visit(v, depth + 1));
    const obj = value as Record<string, unknown>;
    objects.push(obj);
    if (obj['@graph']) visit(obj['@graph'], depth + 1);
  };
  docs.forEach((d) => visit(d, 0));
  const typeOf = (o: Record<string, unknown>) => [o['@type']].flat().map(String).join(' ');
  const article = objects.find((o) => ARTICLE_TYPES.test(typeOf(o)) && !/webpage/i.test(typeOf(o))) ?? objects.find((o) => ARTICLE_TYPES.test(typeOf(o)));
  const site = objects.find((o) => /website|organization/i.test(typeOf(o)));
  if (!article) return { siteName: site ? nameOf(site['name']) : undefined };
  const publisher = article['publisher'];
  return {
    title: str(article['headline']) ?? str(article['name']),
    description: str(article['description']),
    author: nameOf(article['author']) ?? nameOf(article['creator']),
    published: str(article['datePublished']) ?? str(article['dateCreated']),
    siteName: nameOf(publisher) ?? (site ? nameOf(site['name']) : undefined),
    license: str(article['license']) ?? nameOf(article['license']),
    url: str(article['url']),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v : undefined;
}

/** A person or organisation: a string, an object with a name, or a list of them (joined). */
function nameOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (Array.isArray(v)) {
    const names = v.map(nameOf).filter((n): n is string => n !== undefined);
    return names.length ? [...new Set(names)].join(', ') : undefined;
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return str(o['name']) ?? str(o['@id']);
  }
  return undefined;
}

/** ISO 8601 when the value parses as a date (a bare date stays a date); otherwise as given. */
export function isoDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) return v || undefined;
  const year = new Date(ms).getUTCFullYear();
  return year >= 1990 && year <= 2100 ? new Date(ms).toISOString() : undefined;
}

function absolute(href: string | undefined, base: string): string | undefined {
  if (!href) return undefined;
  try {
    const url = new URL(href.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function textOf(el: Element): string {
  return textContent(el).replace(/\s+/g, ' ').trim();
}
