/** The `<meta>` tags a rights record reads, collected from the page's parse (html.ts). */
import type { CheerioAPI } from 'cheerio/slim';
import type { MetaTag } from './directive-signals.js';

const MAX_TAGS = 50;
/** Names always read; a tag named after a bot is read when its content has a directive we read. */
const NAMES = new Set(['robots', 'tdm-reservation', 'tdm-policy']);
const DIRECTIVE = /(?:^|[\s,])(?:noai|noimageai|noindex|none)(?:$|[\s,])/i;

export function rightsMetaTags($: CheerioAPI): MetaTag[] {
  const out: MetaTag[] = [];
  $('meta[name]').each((_i, el) => {
    if (out.length >= MAX_TAGS) return false;
    const name = (el.attribs['name'] ?? '').trim().toLowerCase();
    const content = (el.attribs['content'] ?? '').slice(0, 1000);
    if (!name || /\s/.test(name)) return undefined;
    if (NAMES.has(name) || DIRECTIVE.test(content)) out.push({ name, content });
    return undefined;
  });
  return out;
}
