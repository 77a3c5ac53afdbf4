/**
 * The main content as Markdown (CommonMark with GitHub tables and strikethrough), with turndown: headings
 * as `#`, fenced code blocks, `-` bullets, links and images with absolute URLs. Turndown parses HTML again
 * (domino), but only the main content's serialised HTML, a fraction of the page.
 */
import render from 'dom-serializer';
import { isTag, type AnyNode, type Element } from 'domhandler';
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';

const OPTIONS: TurndownService.Options = { headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-', emDelimiter: '_', hr: '---' };
const turndown = withRules(new TurndownService(OPTIONS)).use(gfm);
// turndown-plugin-gfm 1.0.2 throws on some malformed tables (a row outside any table section): then the
// page is converted without the GitHub extensions rather than failing.
const plainTurndown = withRules(new TurndownService(OPTIONS));

function withRules(service: TurndownService): TurndownService {
  // An image without a usable URL says nothing in Markdown; a figure's caption stays as text.
  service.addRule('imageWithUrl', {
    filter: (node) => node.nodeName === 'IMG' && !node.getAttribute('src'),
    replacement: () => '',
  });
  // "- item" and "1. item" (turndown pads markers to four columns), continuation lines indented to match.
  service.addRule('compactListItem', {
    filter: 'li',
    replacement: (content, node) => {
      const parent = node.parentNode as { nodeName: string; getAttribute(name: string): string | null; children: ArrayLike<unknown> } | null;
      let prefix = '- ';
      if (parent?.nodeName === 'OL') {
        const start = Number(parent.getAttribute('start') ?? 1);
        prefix = `${(Number.isFinite(start) ? start : 1) + Array.prototype.indexOf.call(parent.children, node)}. `;
      }
      const body = content.replace(/^\n+/, '').replace(/\n+$/, '\n').replace(/\n/gm, `\n${' '.repeat(prefix.length)}`);
      return prefix + body + (node.nextSibling && !/\n$/.test(body) ? '\n' : '');
    },
  });
  return service;
}

const URL_ATTRS: Record<string, string[]> = { a: ['href'], img: ['src'] };
const LAZY_SRC = ['data-src', 'data-lazy-src', 'data-original'];

/**
 * Markdown of the roots, leaving out elements for which `drop` is true. Rewrites the kept subtree in place
 * (absolute URLs, lazy image sources), so call it last on a tree.
 */
export function toMarkdown(roots: readonly Element[], drop: (el: Element) => boolean, baseUrl: string, title?: string): string {
  const kept: AnyNode[] = [];
  for (const root of roots) {
    prepare(root, drop, baseUrl);
    kept.push(root);
  }
  const html = render(kept, { decodeEntities: true, encodeEntities: 'utf8' });
  let body: string;
  try {
    body = turndown.turndown(html).trim();
  } catch {
    body = plainTurndown.turndown(html).trim();
  }
  // The headline is often outside the content container; a document starts with it.
  if (title && !/^#\s/.test(body)) return `# ${title.replace(/\s+/g, ' ').trim()}\n\n${body}`.trim();
  return body;
}

/** Removes dropped elements and makes URLs absolute, iteratively (deep trees overflow recursion). */
function prepare(root: Element, drop: (el: Element) => boolean, baseUrl: string): void {
  const stack: Element[] = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    const name = el.name.toLowerCase();
    if (name === 'img' && !el.attribs['src']) {
      const lazy = LAZY_SRC.map((a) => el.attribs[a]).find((v) => v);
      if (lazy) el.attribs['src'] = lazy;
    }
    for (const attr of URL_ATTRS[name] ?? []) {
      const value = el.attribs[attr];
      if (value !== undefined) {
        const abs = absolute(value, baseUrl);
        if (abs) el.attribs[attr] = abs;
        else delete el.attribs[attr];
      }
    }
    el.children = el.children.filter((child) => !(isTag(child) && drop(child)));
    for (const child of el.children) if (isTag(child)) stack.push(child);
  }
}

function absolute(href: string, base: string): string | undefined {
  try {
    const url = new URL(href.trim(), base);
    return ['http:', 'https:', 'mailto:', 'data:'].includes(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}
