/**
 * The text that goes with each image of a page, for image-text pairs: its `alt` and `title`, the
 * `<figcaption>` of the `<figure>` it is in, and nearby text (the closest enclosing block with text,
 * bounded), and the chosen `caption`. The rule (docs/images.md):
 *
 *   caption = figcaption, else alt (unless it is a file name or a placeholder word), else title, else none.
 *
 * A figcaption is written for readers about this very image; alt describes it for those who cannot see
 * it (but is often a file name or "image"); title is a tooltip, least often descriptive. Nearby text is
 * given separately and never chosen: it is as often about something else.
 */
import type { CheerioAPI } from 'cheerio/slim';
import { isTag, isText, type AnyNode, type Element } from 'domhandler';
import type { ImageText } from '../models/task.js';

export type { ImageText } from '../models/task.js';
export type CaptionSource = NonNullable<ImageText['captionSource']>;

export const MAX_CAPTION_CHARS = 1000;
export const MAX_NEARBY_CHARS = 300;
/** Levels of ancestors searched for nearby text. */
const NEARBY_LEVELS = 3;
/** Nodes one bounded text read may visit: markup-heavy, text-poor subtrees stay cheap. */
const MAX_NODES = 2000;
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'object', 'canvas', 'select']);
const PLACEHOLDER_ALT = new Set(['image', 'img', 'photo', 'picture', 'pic', 'graphic', 'icon', 'logo', 'thumbnail', 'banner', 'spacer', 'placeholder', 'untitled', 'null', 'undefined']);
const FILE_NAME = /^[\w.~%+-]+\.(?:jpe?g|png|gif|webp|avif|svg|bmp|tiff?|ico|heic)$/i;
const CAMERA_NAME = /^(?:img|dsc|dscn|pxl|photo|image)[_-]?\d+/i;

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}

function attr(el: Element, name: string): string | undefined {
  const v = el.attribs[name];
  if (v === undefined) return undefined;
  const c = bounded(collapse(v), MAX_CAPTION_CHARS);
  return c || undefined;
}

/** Text under `root`, collapsed, stopping once `max` characters or MAX_NODES nodes are read. */
export function boundedText(root: Element, max: number): string {
  let out = '';
  let visited = 0;
  const stack: AnyNode[] = [...root.children].reverse();
  while (stack.length > 0 && out.length <= max * 2 && visited++ < MAX_NODES) {
    const node = stack.pop()!;
    if (isText(node)) out += node.data;
    else if (isTag(node) && !SKIP.has(node.name.toLowerCase())) {
      if (/^(br|p|div|li|td|th|h[1-6])$/i.test(node.name)) out += ' ';
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
  }
  return bounded(collapse(out), max);
}

export function isUsefulAlt(alt: string): boolean {
  const a = alt.trim();
  if (!a) return false;
  if (PLACEHOLDER_ALT.has(a.toLowerCase())) return false;
  return !FILE_NAME.test(a) && !CAMERA_NAME.test(a);
}

/** The rule above, as code. */
export function chooseCaption(t: Pick<ImageText, 'alt' | 'title' | 'figcaption'>): { caption: string; source: CaptionSource } | undefined {
  if (t.figcaption) return { caption: t.figcaption, source: 'figcaption' };
  if (t.alt && isUsefulAlt(t.alt)) return { caption: t.alt, source: 'alt' };
  if (t.title) return { caption: t.title, source: 'title' };
  return undefined;
}

function closest(el: Element, name: string): Element | undefined {
  for (let p = el.parent; p && isTag(p); p = p.parent) if (p.name.toLowerCase() === name) return p;
  return undefined;
}

function figcaptionOf(el: Element): string | undefined {
  const figure = closest(el, 'figure');
  if (!figure) return undefined;
  // The figure's own caption: a figcaption child, not one of a figure nested inside it.
  const caption = figure.children.find((c): c is Element => isTag(c) && c.name.toLowerCase() === 'figcaption');
  return caption ? boundedText(caption, MAX_CAPTION_CHARS) || undefined : undefined;
}

function nearbyOf(el: Element): string | undefined {
  let node: Element = el;
  for (let level = 0; level < NEARBY_LEVELS; level++) {
    const parent = node.parent;
    if (!parent || !isTag(parent) || /^(body|html)$/i.test(parent.name)) return undefined;
    const text = boundedText(parent, MAX_NEARBY_CHARS);
    if (text) return text;
    node = parent;
  }
  return undefined;
}

function textFor(el: Element, fromImg: Element): ImageText {
  const t: ImageText = {};
  const alt = attr(fromImg, 'alt');
  const title = attr(fromImg, 'title') ?? attr(el, 'title');
  const figcaption = figcaptionOf(fromImg);
  const nearby = nearbyOf(fromImg);
  if (alt !== undefined) t.alt = alt;
  if (title !== undefined) t.title = title;
  if (figcaption !== undefined) t.figcaption = figcaption;
  if (nearby !== undefined) t.nearby = nearby;
  const chosen = chooseCaption(t);
  if (chosen) {
    t.caption = chosen.caption;
    t.captionSource = chosen.source;
  }
  return t;
}

/**
 * The text of every image URL `refsOf` finds on `<img>`, `<picture><source>`, `<input type=image>` and
 * the `og:image` / `twitter:image` meta tags (their `:alt` companions are the alt). Elements in the page
 * come before meta tags, then document order: the first that references a URL gives its text.
 */
export function extractImageTexts($: CheerioAPI, refsOf: (el: Element) => string[]): Record<string, ImageText> {
  const out: Record<string, ImageText> = Object.create(null) as Record<string, ImageText>;
  const put = (urls: string[], text: () => ImageText) => {
    const fresh = urls.filter((u) => !(u in out));
    if (fresh.length === 0) return;
    const t = text();
    for (const u of fresh) out[u] = t;
  };
  $('img, picture source, input').each((_i, el) => {
    const name = el.name.toLowerCase();
    if (name === 'input' && (el.attribs['type'] ?? '').trim().toLowerCase() !== 'image') return;
    // A <source> of a <picture> is the same image as the picture's <img>: it shares its text.
    const img = name === 'source' ? el.parent && isTag(el.parent) ? el.parent.children.find((c): c is Element => isTag(c) && c.name.toLowerCase() === 'img') : undefined : el;
    put(refsOf(el), () => textFor(el, img ?? el));
  });
  const metaAlt = (...keys: string[]) => {
    for (const key of keys) {
      const v = $(`meta[property="${key}"], meta[name="${key}"]`).first().attr('content');
      if (v && collapse(v)) return bounded(collapse(v), MAX_CAPTION_CHARS);
    }
    return undefined;
  };
  $('meta').each((_i, el) => {
    const key = (el.attribs['property'] ?? el.attribs['name'] ?? '').trim().toLowerCase();
    const alt = key.startsWith('og:image') ? metaAlt('og:image:alt') : key.startsWith('twitter:image') ? metaAlt('twitter:image:alt') : undefined;
    if (!key.startsWith('og:image') && !key.startsWith('twitter:image')) return;
    put(refsOf(el), () => {
      const t: ImageText = alt ? { alt } : {};
      const chosen = chooseCaption(t);
      return chosen ? { ...t, caption: chosen.caption, captionSource: chosen.source } : t;
    });
  });
  return out;
}
