/**
 * Finds a page's main content (the article or post body and its headings) in an already parsed tree.
 *
 * Two steps, after Readability and trafilatura (docs/main-content.md tells the measurements behind them):
 * 1. choose a container: text blocks of 25+ characters score their ancestors (commas and length, fading
 *    with distance), containers are weighted by tag and class/id words and damped by link density; on an
 *    infinite-scroll page the repeated unit whose heading names the page wins; the best one (the core) grows
 *    to the common ancestor with a candidate elsewhere scoring half as much (split content), and takes in
 *    content-like siblings and a lead (standfirst, intro) named so before it;
 * 2. prune inside it: hidden parts, navigation/aside/footer/forms, class/id words of boilerplate (comments,
 *    share bars, related links, cookie notices, ads…), link-dense blocks, outside the core anything that is
 *    not prose, and headings left with nothing under them.
 * Works on domhandler nodes, so the page's single parse serves the whole-page text, images and this.
 */
import { isTag, isText, type AnyNode, type Document, type Element } from 'domhandler';
import { HIDDEN, textContent } from './text-builder.js';

/**
 * Hidden for main content: as for the whole page, except <noscript>, where some blogs (Blogger) put the
 * post itself for a script to render; and ruby annotations (<rt>, <rp>: the reading of each kanji), which
 * would otherwise interleave with the words they annotate.
 */
export const MAIN_HIDDEN = new Set([...[...HIDDEN].filter((name) => name !== 'noscript'), 'rt', 'rp']);

export interface MainContent {
  /** The containers, in document order. */
  roots: Element[];
  /** Elements inside the roots to leave out. */
  pruned: Set<Element>;
}

/** Class/id words of page furniture. Matched against each class token and the id, lower-cased. */
const BOILERPLATE_WORD =
  /(^|[-_:.])(comments?|commentlist|disqus|respond|replies|footer|foot|sidebar|sidebars|side|widgets?|nav|navbar|navigation|menu|menus|breadcrumbs?|crumbs|share|sharing|sharer|shares|socials?|sociable|social-?links|related|relatedposts|recommended|recommendations|promo|promoted|sponsored|sponsor|advert|advertisement|adverts|ads?|adsense|adslot|ad-?container|banner|cookies?|consent|gdpr|newsletter|subscribe|subscription|signup|popup|modal|overlay|toolbar|pagination|pager|paging|tags|tagcloud|taglist|categories|category|category-?list|kicker|overline|eyebrow|dachzeile|topline|rubrik|ressort|authorbox|author-?bio|about-?author|noprint|rss|caption|wp-caption-text|image-?caption|img-?caption|bildunterschrift|bilduntertitel|legend|credit|photo-?credit|image-?credit|copyright|login|searchform|search|skip|skiplink|hidden|visually-?hidden|sr-only|screen-?reader-?text|more-?stories|most-?popular|popular|trending|outbrain|taboola|plista|factbox|fact-box|linkbox|link-?box|buybox|buy-?box|image-?source|image-?annotation|imagedescription|image-?description|cta|call-to-action|appstores?|embed|embedded|user-?info|user-?profile|masthead|topbar|header-?bar|site-?header|site-?footer|copyright|meta|postmeta|post-?meta|entry-?meta|byline|dateline|date|datum|newsdatum|published|utility|postmetadata|metadata|post-?info|entry-?info|article-?info|article-?meta|author|authors|autor|author-?info|post-?date|timestamp|caption-?credit|credits?|rating|votes?|like|likes|follow|feedback|jump|backlink|back-?to-?top|top-?link|nextprev|prev-?next|post-?nav|post-?navigation|navigation-?links|read-?more|readmore|further|more|also|paywall|donate|donation|shop|cart|calendar|archive|archives|blogroll|links|linkliste|infobox-?links)($|[-_:.])/;

/**
 * Short blocks that announce furniture rather than content: sharing, related links, comment forms, ads,
 * cookie notices (English, German, French, Spanish, Italian, Polish, Dutch, as seen on the dev set).
 */
const BOILERPLATE_LINE =
  /^(share|share this|share on|teilen|jetzt teilen|diesen artikel teilen|artikel teilen|partager|compartir|condividi|udostępnij|delen|tweet|like this|gefällt mir|related( posts| articles| stories)?|more from|you may also like|you might also like|recommended|read more|read next|see also|also read|ähnliche (beiträge|artikel)|verwandte (beiträge|artikel)|das könnte (sie|dich) auch interessieren|auch interessant|mehr zum thema|lesen sie auch|weitere artikel|weiterlesen|mehr lesen|à lire aussi|lire aussi|voir aussi|sur le même sujet|te puede interesar|leer más|ti potrebbe interessare|leggi anche|czytaj (też|także)|zobacz (też|także)|lees ook|advertisement|anzeige|- anzeige -|werbung|publicité|publicidad|pubblicità|reklama|sponsored|gesponsert|tags|schlagwörter|kategorien|categories|filed under|posted in|veröffentlicht in|leave a (reply|comment)|kommentar (verfassen|schreiben|hinterlassen)|kommentare|hinterlasse einen kommentar|schreibe einen kommentar|laisser un commentaire|deja un comentario|lascia un commento|comments?|\d+ (comments?|kommentare)|no comments|keine kommentare|ultima modifica|last (updated|modified)|zuletzt (aktualisiert|geändert)|aktualisiert( am)?|updated( on)?|publié le|mis à jour|publicado( el)?|actualizado( el)?|veröffentlicht am|veröffentlichung|release date|published( on)?|print|drucken|imprimer|drukuj|stampa|imprimir|permalink|permalien|kommentieren|commenter|comentar|pdf|download|herunterladen|dieses \S+ als pdf|newsletter|subscribe|abonnieren|jetzt abonnieren|back to top|nach oben|zurück|zurück zur übersicht|previous( post| article)?|next( post| article)?|vorheriger (beitrag|artikel)|nächster (beitrag|artikel)|photo|foto|bild|image|source|quelle|(photo |image |picture )?credits?|crédits?( photos?)?|créditos?|bildnachweis|fotonachweis|bildquelle|fotos?:|photos?:|©|copyright|cookies?|this website uses cookies|diese website verwendet cookies|schon gelesen|auch lesenswert|zum weiterlesen|mehr (zu|zum|über)|lust auf mehr|entdecke (weitere|mehr)|(das|dieses) thema könnte (sie|dich) (auch )?interessieren|more (stories|articles|news)|keep reading|recommended for you|popular (posts|articles|stories)|most read|meistgelesen|top stories|latest (news|stories|posts|articles)|neueste (beiträge|artikel)|aktuelle (beiträge|artikel)|don'?t miss|nicht verpassen|über (den|die) autor(in)?|about the author|à propos de l'auteur|sobre el autor|(presse)?kontakt|contact( us)?|ansprechpartner(in)?|weitere informationen|more information|further information|(original)?publikation|original (publication|article))\b.{0,40}$/i;

/**
 * "See also: <a link to another article>" set in the body as a paragraph of its own: the phrase, a colon,
 * then mostly a link (Spanish, English, German, French, Italian, Polish, Dutch, Portuguese).
 */
const READ_ALSO_PREFIX =
  /^(lea (también|además|más)|lee (también|más)|vea (también|además)|ver (también|más)|mira|mire|le puede interesar|te puede interesar|también te puede interesar|puede interesarle|te recomendamos|le recomendamos|noticia relacionada|relacionad[oa]s?|read (also|more)|see also|also read|related|recommended|more on this|lesen sie auch|lies auch|auch interessant|mehr zum thema|siehe auch|(à )?lire aussi|voir aussi|leggi anche|czytaj (też|także|więcej)|zobacz (też|także)|lees ook|leia (também|mais)|veja (também|mais))\s*[:：]/i;
/**
 * Calls to action addressed to the reader (subscribe, follow us, download our app, send us a letter,
 * support us), which sites append to every article: a block that starts so and is short.
 */
const CALL_TO_ACTION =
  /^(\W{0,3})(subscribe (now|today|to)|to (view|read|continue reading) the full|sign up (for|to|now)|follow (us|the|our|@)|like us on|join (us|our)|download (the|our)|get (the|our) app|for the latest (stories|news|updates)|submit your (letter|story|news)|support (us|our)|if you (enjoyed|liked|like) (reading |this)|jetzt (abonnieren|abonnenten|unterstützen)|abonnieren sie|folgen sie uns|folge uns|unterstützen sie|melden sie sich|gefällt (dir|ihnen) (unser|der|dieser)|abonnez-vous|suivez-nous|soutenez|suscríbete|síguenos|hazte (miembro|socio)|únete|iscriviti|seguici|zapraszamy (też )?do subskrypcji|obserwuj nas|subskrybuj|(sie müssen|du musst|you must|you need to) (be )?(angemeldet|eingeloggt|logged in|signed in|registriert)|(we|this (web)?site) uses? cookies|wir (verwenden|nutzen) cookies|diese (web)?seite (verwendet|nutzt) cookies|nous utilisons des cookies|ce site utilise des cookies|utilizamos cookies|(ta strona|serwis) (używa|korzysta z)|korzystamy z (plików )?cookies)/i;
const CALL_TO_ACTION_MAX_TEXT = 250;

/** Longest "see also" paragraph: a phrase and a headline. */
const READ_ALSO_MAX_TEXT = 300;

/** A paragraph this linked and this short is a link to elsewhere (trafilatura's link_density_test). */
const LINKED_PARAGRAPH_DENSITY = 0.8;
const LINKED_PARAGRAPH_MAX_TEXT = 100;

/** A line that is only a date (and time): a dateline or a "last updated", not a sentence. */
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|okt|dez|janv|févr|mars|avr|mai|juin|juil|août|sept|déc|ene|abr|ago|dic|gen|mag|giu|lug|ott)[a-zé]*\\.?';
const DATE_LINE = new RegExp(
  `^[\\p{L} ]{0,20}[:,]?\\s*(\\d{1,2}[./-]\\d{1,2}[./-]\\d{2,4}|\\d{4}-\\d{2}-\\d{2}|\\d{1,2}\\.? (de )?${MONTH} (de )?\\d{4}|${MONTH} \\d{1,2},? \\d{4})([ ,|–-]+(um )?\\d{1,2}[:.]\\d{2}( ?uhr| ?[ap]\\.?m\\.?)?)?$`,
  'iu',
);

/** A caption or source line set in the text: "Abbildung 4: …", "Fig. 2: …", "Foto: …", "Quelle: …". */
const CAPTION_LINE = /^(abbildung|abb\.|fig\.|figure|grafik|gráfico|grafico|graphique|foto|photo|bild|image|quelle|source|fuente|fonte|źródło|crédits?|credits?)( ?\d+[a-z]?)?\s*:/i;
const CAPTION_LINE_MAX_TEXT = 200;

/** Outside the core container, blocks more linked than this, or leaf blocks shorter than this, are left out. */
const EXTENSION_MAX_LINK_DENSITY = 0.3;
const EXTENSION_MIN_TEXT = 25;
/** How far above the container a lead is looked for, and the class/id words that name one. */
const LEAD_LEVELS = 6;
const LEAD_WORD = /(^|[-_\s])(lead|leader|intro|introtext|intro-?text|standfirst|sub-?title|sub-?head|sub-?headline|sub-?heading|summary|excerpt|abstract|article-?lead|deck|dek|teaser|description)($|[-_\s])/i;
/** Teasers: furniture when linked (see isFurniture). */
const TEASER_WORD = /teaser/i;

/** Class/id words that make a container likely to hold the content. */
const CONTENT_WORD = /(^|[-_:.])(article|articlebody|article-?body|article-?content|body|content|entry|entry-?content|hentry|h-entry|main|post|post-?body|post-?content|post-?entry|story|story-?body|text|blog-?post|single|page-?content|main-?content|rich-?text|markdown)($|[-_:.])/;

/**
 * Utility classes of CSS frameworks (Tailwind, UIkit, Bootstrap: "text-center", "uk-text-muted",
 * "text-gray-500"): they style text anywhere on a page, so their "text" says nothing about content.
 */
const STYLE_CLASS = /(^|[-_:])text-(left|right|center|justify|start|end|xs|sm|md|lg|xl|\d?xl|small|large|base|muted|bold|italic|uppercase|lowercase|capitali[sz]e|nowrap|truncate|wrap|break|primary|secondary|white|black|gray|grey|dark|light|red|blue|green|\d)/;

/** Words whose match vetoes content-ness: a container named for both is boilerplate. */
const STRONG_BOILERPLATE_WORD = /(comment|kommentar|disqus|sidebar|footer|related|share|sharing|social|cookie|newsletter|breadcrumb|advert|sponsor|promo|outbrain|taboola|navigation|navbar|menu|paywall|subscri|signup|popup|modal|twitter-tweet|instagram-media|content-blocker|notice)/;

const TABLE_PARTS = new Set(['table', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th']);

/** What a figure shows, and what in a figure is content rather than a caption. */
const FIGURE_MEDIA = new Set(['img', 'picture', 'video', 'svg', 'canvas', 'iframe', 'a', 'noscript']);
const FIGURE_CONTENT = new Set(['img', 'picture', 'video', 'table', 'blockquote', 'pre', 'code', 'ol', 'ul', 'dl']);

/** Elements never part of the content. */
const FURNITURE_TAGS = new Set(['figcaption', 'time', 'nav', 'aside', 'footer', 'form', 'button', 'select', 'input', 'textarea', 'menu', 'dialog', 'label', 'fieldset', 'iframe', 'embed', 'object', 'map', 'area']);
const FURNITURE_ROLES = new Set(['navigation', 'contentinfo', 'complementary', 'dialog', 'alertdialog', 'search', 'menu', 'menubar', 'banner', 'toolbar', 'tablist']);

/** Elements whose class/id words can mark them as furniture. */
const NAMED_CONTAINERS = new Set(['div', 'section', 'aside', 'header', 'footer', 'nav', 'ul', 'ol', 'dl', 'table', 'span', 'li', 'figure', 'figcaption', 'form', 'p', 'small', 'font', 'center', 'details', 'tr', 'td', 'a']);

/** Elements that do not start a block: their text belongs to the enclosing block. */
const INLINE = new Set([
  'a', 'abbr', 'b', 'bdi', 'bdo', 'big', 'br', 'cite', 'code', 'data', 'del', 'dfn', 'em', 'font', 'i', 'img', 'ins',
  'kbd', 'mark', 'nobr', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'time', 'tt', 'u', 'var', 'wbr',
]);
/** Blocks whose text scores their ancestors. */
const TEXT_BLOCKS = new Set(['p', 'pre', 'td', 'blockquote', 'li', 'dd', 'div', 'section', 'article', 'main', 'center', 'font', 'span', 'font']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

const TAG_WEIGHT: Record<string, number> = {
  div: 5, article: 10, main: 5, section: 2, pre: 3, td: 3, blockquote: 3,
  address: -3, ol: -3, ul: -3, dl: -3, dd: -3, dt: -3, li: -3, form: -3, table: -1,
  h1: -5, h2: -5, h3: -5, h4: -5, h5: -5, h6: -5, th: -5,
};

interface Stats {
  /** Visible text characters (whitespace runs count as one). */
  text: number;
  /** Of those, inside links. */
  link: number;
  commas: number;
  /** Text characters directly inside (not in a block child). */
  own: number;
  ownCommas: number;
  hasBlockChild: boolean;
  /** Holds an <article>, <main> or itemprop=articleBody element. */
  hasArticle: boolean;
  /** Readability-style content score, set once the element has been scored. */
  score?: number;
}

export interface MainContentOptions {
  /** Class/id words steer scoring and pruning (turned off by the lenient retry). */
  useClassWords: boolean;
}

/** The main content of a parsed page, or undefined when the page has no block of text. */
export function findMainContent(doc: Document): MainContent | undefined {
  const strict = extractWith(doc, { useClassWords: true });
  if (strict && strict.length >= 250) return strict.content;
  // Readability's fallback: furniture words mislead on some pages (a wrapper called "has-sidebar").
  const lenient = extractWith(doc, { useClassWords: false });
  const best = [strict, lenient].filter((x) => x !== undefined).sort((a, b) => b.length - a.length)[0];
  return best?.content;
}

function extractWith(doc: Document, options: MainContentOptions): { content: MainContent; length: number } | undefined {
  const ctx = new Analysis(doc, options);
  const top = ctx.chooseContainer();
  if (!top) return undefined;
  const roots = ctx.withLead(top, ctx.withSiblings(top));
  const pruned = ctx.prune(roots, top);
  let length = 0;
  for (const root of roots) length += ctx.keptText(root, pruned);
  return { content: { roots, pruned }, length };
}

class Analysis {
  private readonly stats = new Map<Element, Stats>();
  /** Visible elements in document order. */
  private readonly order: Element[] = [];
  private readonly furniture = new Set<Element>();
  /** Furniture and everything inside it: left out of scoring. */
  private readonly underFurniture = new Set<Element>();
  private body: Element | undefined;
  /** The page's <title> and og:title, normalised for comparison with headings. */
  private readonly titles: string[] = [];
  /** The best-scoring container before it grew to an ancestor: content outside it must look like prose. */
  private core: Element | undefined;

  constructor(
    doc: Document,
    private readonly options: MainContentOptions,
  ) {
    this.measure(doc);
  }

  /** One walk: visible elements in order, then text statistics bottom-up. */
  private measure(doc: Document): void {
    const stack: AnyNode[] = [...doc.children].reverse();
    const texts: { parent: Element; length: number; commas: number }[] = [];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (isText(node)) {
        const parent = node.parent;
        if (parent && isTag(parent) && this.stats.has(parent)) {
          const length = visibleLength(node.data);
          if (length > 0) texts.push({ parent, length, commas: countCommas(node.data) });
        }
        continue;
      }
      if (!isTag(node)) continue;
      const name = node.name.toLowerCase();
      if (MAIN_HIDDEN.has(name) || isHidden(node)) continue;
      if (name === 'body' && !this.body) this.body = node;
      if (name === 'title') this.addTitle(textContent(node));
      else if (name === 'meta' && node.attribs['property']?.toLowerCase() === 'og:title') this.addTitle(node.attribs['content'] ?? '');
      this.stats.set(node, { text: 0, link: 0, commas: 0, own: 0, ownCommas: 0, hasBlockChild: false, hasArticle: false });
      this.order.push(node);
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
    for (const t of texts) {
      const s = this.stats.get(t.parent)!;
      s.text += t.length;
      s.commas += t.commas;
      s.own += t.length;
      s.ownCommas += t.commas;
    }
    // Children come after their parents in document order: walk backwards to sum upwards.
    for (let i = this.order.length - 1; i >= 0; i--) {
      const el = this.order[i]!;
      const s = this.stats.get(el)!;
      const name = el.name.toLowerCase();
      if (name === 'a') s.link = s.text;
      const parent = el.parent;
      const ps = parent && isTag(parent) ? this.stats.get(parent) : undefined;
      if (!ps) continue;
      ps.text += s.text;
      ps.link += s.link;
      ps.commas += s.commas;
      if (s.hasArticle || isArticle(el, name)) ps.hasArticle = true;
      if (INLINE.has(name)) {
        ps.own += s.own;
        ps.ownCommas += s.ownCommas;
      } else {
        ps.hasBlockChild = true;
      }
    }
    // Parents come first in document order, so "inside furniture" is inherited in one pass. An element
    // holding most of the page's text is a wrapper whatever its name (an ASP.NET page-wide <form>).
    const pageText = this.body ? this.stats.get(this.body)!.text : 0;
    for (const el of this.order) {
      const s = this.stats.get(el)!;
      const furniture = s.text <= pageText * 0.5 && !s.hasArticle && this.isFurniture(el, el.name.toLowerCase());
      if (furniture) this.furniture.add(el);
      const parent = parentOf(el);
      if (furniture || (parent && this.underFurniture.has(parent))) this.underFurniture.add(el);
    }
  }

  private addTitle(text: string): void {
    const title = normTitle(text);
    if (title.length >= 10) this.titles.push(title);
  }

  /** A heading that names the page: its text is in the <title> (or og:title), or holds it. */
  private isTitleHeading(el: Element): boolean {
    const text = normTitle(textContent(el));
    return text.length >= 10 && this.titles.some((t) => t.includes(text) || text.includes(t));
  }

  /**
   * Infinite-scroll pages append whole articles of the same markup below the real one, and one of those
   * may score best. Among the repeated units holding the chosen container, the one whose heading names
   * the page wins; the container is then its best candidate.
   */
  private preferTitledUnit(top: Element, finals: Map<Element, number>): Element {
    if (this.titles.length === 0) return top;
    let unit: Element | null = top;
    for (let level = 0; unit && level < 6 && unit !== this.body; level++, unit = parentOf(unit)) {
      const parent = parentOf(unit);
      if (!parent) break;
      const sig = signature(unit);
      const units = parent.children.filter((c): c is Element => isTag(c) && c !== unit && signature(c) === sig && (this.stats.get(c)?.text ?? 0) > 200);
      if (units.length === 0) continue;
      units.unshift(unit);
      const titled = units.filter((u) => this.hasTitleHeading(u));
      if (titled.length !== 1 || titled[0] === unit) return top;
      let best: Element = titled[0]!;
      let bestScore = -Infinity;
      for (const [el, f] of finals) if (f > bestScore && contains(titled[0]!, el)) [best, bestScore] = [el, f];
      return bestScore >= (finals.get(top) ?? 0) * 0.2 ? best : top;
    }
    return top;
  }

  private hasTitleHeading(unit: Element): boolean {
    const stack: Element[] = [unit];
    while (stack.length > 0) {
      const el = stack.pop()!;
      if (HEADINGS.has(el.name.toLowerCase())) {
        if (this.isTitleHeading(el)) return true;
        continue;
      }
      for (const c of el.children) if (isTag(c) && this.stats.has(c)) stack.push(c);
    }
    return false;
  }

  private isFurniture(el: Element, name: string): boolean {
    if (FURNITURE_TAGS.has(name)) return true;
    if (isCaptionOfFigure(el, name)) return true;
    const role = el.attribs['role']?.toLowerCase();
    if (role && FURNITURE_ROLES.has(role)) return true;
    if (!this.options.useClassWords) return false;
    // A heading's id is often an anchor made from its words ("nav_…"): only its class counts.
    if (HEADINGS.has(name)) return isBoilerplateName(el.attribs['class'] ?? '');
    if (!NAMED_CONTAINERS.has(name) && !name.includes('-')) return false;
    // "Teaser" names a list of links to other pages, but also an article's own lead: only the linked kind goes.
    if (TEASER_WORD.test(`${el.attribs['class'] ?? ''} ${el.attribs['id'] ?? ''}`) && this.linkDensity(el) >= 0.1) return true;
    return classWeight(el) < 0 && hasBoilerplateWord(el);
  }

  private initScore(el: Element): number {
    const s = this.stats.get(el)!;
    if (s.score === undefined) {
      s.score = TAG_WEIGHT[el.name.toLowerCase()] ?? 0;
      if (this.options.useClassWords) s.score += classWeight(el);
    }
    return s.score;
  }

  private linkDensity(el: Element): number {
    const s = this.stats.get(el)!;
    return s.text === 0 ? 0 : s.link / s.text;
  }

  chooseContainer(): Element | undefined {
    const candidates = new Set<Element>();
    for (const el of this.order) {
      const name = el.name.toLowerCase();
      if (!TEXT_BLOCKS.has(name)) continue;
      const s = this.stats.get(el)!;
      // A block's own text: all of it for a leaf block, the loose text for a container with block children.
      const length = s.hasBlockChild ? s.own : s.text;
      if (length < 25) continue;
      if (this.underFurniture.has(el)) continue;
      const commas = s.hasBlockChild ? s.ownCommas : s.commas;
      const score = 1 + commas + Math.min(Math.floor(length / 100), 3);
      // A leaf div scores its parent like a paragraph does; a container's loose text scores itself too.
      let target: Element | null = s.hasBlockChild ? el : el.parent && isTag(el.parent) ? el.parent : null;
      for (let level = 0; target && level < 5; level++) {
        if (!this.stats.has(target)) break;
        const divider = level === 0 ? 1 : level === 1 ? 2 : level * 3;
        this.initScore(target);
        this.stats.get(target)!.score! += score / divider;
        candidates.add(target);
        target = target.parent && isTag(target.parent) ? target.parent : null;
      }
    }
    let top: Element | undefined;
    let topScore = -Infinity;
    const finals = new Map<Element, number>();
    for (const el of candidates) {
      const name = el.name.toLowerCase();
      if (name === 'html') continue;
      const final = this.stats.get(el)!.score! * (1 - this.linkDensity(el));
      finals.set(el, final);
      if (final > topScore) {
        topScore = final;
        top = el;
      }
    }
    if (!top) return undefined;
    this.core = top;
    // A candidate elsewhere scoring at least half the best: the content is split (sections between ads,
    // a recipe's columns), take the nearest ancestor holding both; prune() keeps only prose outside the core.
    const near = [...finals].filter(([el, f]) => !contains(el, top!) && !contains(top!, el) && f >= topScore * 0.5).map(([el]) => el);
    if (near.length > 0) {
      for (let parent = parentOf(top); parent && parent.name.toLowerCase() !== 'body'; parent = parentOf(parent)) {
        if (near.some((el) => contains(parent, el))) {
          top = parent;
          break;
        }
      }
    }
    // Climb while a parent scores higher (its other children add to the content).
    let last = finals.get(top) ?? topScore;
    const threshold = last / 3;
    for (let parent = parentOf(top); parent && parent.name.toLowerCase() !== 'body'; parent = parentOf(parent)) {
      const score = finals.get(parent);
      if (score === undefined) continue;
      if (score < threshold) break;
      if (score > last) {
        top = parent;
        break;
      }
      last = score;
    }
    top = this.preferTitledUnit(top, finals);
    // An only child stands for its parent.
    for (let parent = parentOf(top); parent && parent.name.toLowerCase() !== 'body'; parent = parentOf(parent)) {
      if (parent.children.filter(isTag).length !== 1) break;
      top = parent;
    }
    return top;
  }

  /** The container and the siblings that look like more of the same content. */
  withSiblings(top: Element): Element[] {
    const parent = parentOf(top);
    if (!parent) return [top];
    const topScore = (this.stats.get(top)?.score ?? 0) * (1 - this.linkDensity(top));
    const threshold = Math.max(10, topScore * 0.2);
    const topClass = top.attribs['class'] ?? '';
    const roots: Element[] = [];
    for (const sib of parent.children) {
      if (!isTag(sib)) continue;
      if (sib === top) {
        roots.push(sib);
        continue;
      }
      const s = this.stats.get(sib);
      if (!s || this.furniture.has(sib)) continue;
      let bonus = 0;
      if (topClass && sib.attribs['class'] === topClass) bonus = topScore * 0.2;
      const score = s.score === undefined ? undefined : s.score * (1 - this.linkDensity(sib)) + bonus;
      if (score !== undefined && score >= threshold) {
        roots.push(sib);
        continue;
      }
      // Prose beside the container (a lead paragraph, a standfirst in its own div).
      if (this.isProse(sib)) roots.push(sib);
      else if (s.text > 0 && s.text <= 80 && this.linkDensity(sib) === 0 && /[.!?]\s*$/.test(textContent(sib))) roots.push(sib);
    }
    return this.withTwinsOfParent(parent, roots);
  }

  /**
   * An article cut into parts by ads: the container's parent has siblings of the same tag and first class
   * (`section.detail-body` three times), each holding prose. They join, in document order.
   */
  private withTwinsOfParent(parent: Element, roots: Element[]): Element[] {
    const grand = parentOf(parent);
    const kind = firstClass(parent);
    if (!grand || kind === '' || parent === this.body) return roots;
    const before: Element[] = [];
    const after: Element[] = [];
    let seen = false;
    for (const sib of grand.children) {
      if (sib === parent) seen = true;
      else if (isTag(sib) && sib.name === parent.name && firstClass(sib) === kind && this.isProse(sib)) (seen ? after : before).push(sib);
    }
    return before.length + after.length === 0 ? roots : [...before, ...roots, ...after];
  }

  /** Text that reads as sentences: long enough, few links, commas or sentence ends. */
  private isProse(el: Element): boolean {
    const s = this.stats.get(el);
    if (!s || this.furniture.has(el)) return false;
    return s.text > 80 && this.linkDensity(el) < 0.25 && s.commas + sentenceEnds(textContent(el)) > 0;
  }

  /**
   * A lead (standfirst, intro, excerpt, abstract) often sits in the article's header, before the body's
   * container: named so, short, unlinked, it joins in front.
   */
  withLead(top: Element, roots: Element[]): Element[] {
    let scope: Element = top;
    for (let i = 0; i < LEAD_LEVELS; i++) {
      const parent = parentOf(scope);
      if (!parent || parent === this.body) break;
      scope = parent;
    }
    if (scope === top) return roots;
    const leads: Element[] = [];
    const stack: Element[] = [scope];
    while (stack.length > 0) {
      const el = stack.pop()!;
      if (el === top) break;
      if (roots.includes(el) || this.underFurniture.has(el)) continue;
      const s = this.stats.get(el);
      if (!s) continue;
      const named = LEAD_WORD.test(`${el.attribs['class'] ?? ''} ${el.attribs['id'] ?? ''}`);
      if (el !== scope && (named || isDek(el)) && s.text >= 40 && s.text <= 1500 && this.linkDensity(el) < 0.2) {
        leads.push(el);
        continue;
      }
      for (let i = el.children.length - 1; i >= 0; i--) {
        const child = el.children[i]!;
        if (isTag(child)) stack.push(child);
      }
    }
    // Only elements before the container (the walk stops at it); one that holds the container is no lead.
    const found = leads.filter((el) => !contains(el, top));
    return found.length > 0 ? [...found, ...roots.filter((r) => !found.some((l) => contains(l, r)))] : roots;
  }

  /** Elements to leave out inside the roots. */
  prune(roots: Element[], top: Element): Set<Element> {
    const pruned = new Set<Element>();
    const total = roots.reduce((n, r) => n + (this.stats.get(r)?.text ?? 0), 0);
    for (const root of roots) {
      const stack: Element[] = root.children.filter(isTag).reverse();
      while (stack.length > 0) {
        const el = stack.pop()!;
        const s = this.stats.get(el);
        if (!s) {
          pruned.add(el);
          continue;
        }
        // Never drop most of the chosen content on the strength of a name.
        const large = s.text > total * 0.5 && el !== top;
        if (!large && (this.furniture.has(el) || this.isLinkList(el) || (this.isLine(el) && ((s.text <= 80 && isBoilerplateLine(el)) || (s.text <= CAPTION_LINE_MAX_TEXT && isCaptionLine(el)))) || this.isReadAlso(el) || this.isCallToAction(el))) {
          pruned.add(el);
          continue;
        }
        if (this.core && !contains(el, this.core) && !contains(this.core, el) && this.isWeakBlock(el)) {
          pruned.add(el);
          continue;
        }
        for (let i = el.children.length - 1; i >= 0; i--) {
          const child = el.children[i]!;
          if (isTag(child)) stack.push(child);
        }
      }
      this.pruneOrphanHeadings(root, pruned);
    }
    return pruned;
  }

  /**
   * The element stands as a line of its own: a block, or an inline element that is all its parent's text
   * (a <code>next-line</code> inside a sentence is not the line "Next").
   */
  private isLine(el: Element): boolean {
    if (!INLINE.has(el.name.toLowerCase())) return true;
    const parent = parentOf(el);
    return !parent || (this.stats.get(parent)?.text ?? 0) <= (this.stats.get(el)?.text ?? 0) + 2;
  }

  /** A "See also: <headline>" paragraph pointing at another article. */
  private isReadAlso(el: Element): boolean {
    const s = this.stats.get(el)!;
    if (s.text > READ_ALSO_MAX_TEXT || s.link === 0 || INLINE.has(el.name.toLowerCase())) return false;
    return READ_ALSO_PREFIX.test(textContent(el).replace(/\s+/g, ' ').trim());
  }

  private isCallToAction(el: Element): boolean {
    const s = this.stats.get(el)!;
    if (s.text > CALL_TO_ACTION_MAX_TEXT || INLINE.has(el.name.toLowerCase())) return false;
    return CALL_TO_ACTION.test(textContent(el).replace(/\s+/g, ' ').trim());
  }

  /** Outside the core container: a block that is not prose (short, or linked). */
  private isWeakBlock(el: Element): boolean {
    const name = el.name.toLowerCase();
    if (HEADINGS.has(name) || INLINE.has(name)) return false;
    const s = this.stats.get(el)!;
    if (s.text === 0) return false;
    if (this.linkDensity(el) > EXTENSION_MAX_LINK_DENSITY) return true;
    if (s.hasBlockChild) return false;
    return s.text < EXTENSION_MIN_TEXT;
  }

  /** A block made mostly of links (related articles, tag lists, pagers): not prose. */
  private isLinkList(el: Element): boolean {
    const name = el.name.toLowerCase();
    if (INLINE.has(name) || HEADINGS.has(name) || name === 'pre') return false;
    const s = this.stats.get(el)!;
    if (s.text === 0) return false;
    const density = s.link / s.text;
    // A paragraph that is a short link and nothing else: a headline pointing elsewhere, not prose.
    if (name === 'p' || name === 'blockquote') return density > LINKED_PARAGRAPH_DENSITY && s.text < LINKED_PARAGRAPH_MAX_TEXT;
    // Tables of products or ingredients link many of their cells and are still the content
    // (trafilatura's link_density_test_tables).
    if (TABLE_PARTS.has(name)) return s.text >= 200 && density > (s.text < 1000 ? 0.8 : 0.5);
    if (density > 0.5) return true;
    // A short block with some links and no sentences: "Tags: a, b", "Read more", author links.
    return density > 0.3 && s.text < 200 && s.commas < 2;
  }

  /** Headings that end a root or are followed straight by another heading of the same or higher rank. */
  private pruneOrphanHeadings(root: Element, pruned: Set<Element>): void {
    const blocks: Element[] = [];
    const stack: Element[] = [root];
    while (stack.length > 0) {
      const el = stack.pop()!;
      if (pruned.has(el)) continue;
      const name = el.name.toLowerCase();
      if (HEADINGS.has(name) || (el !== root && !el.children.some(isTag) && (this.stats.get(el)?.text ?? 0) > 0)) {
        blocks.push(el);
        continue;
      }
      if (el !== root && (this.stats.get(el)?.own ?? 0) > 0 && !INLINE.has(name)) blocks.push(el);
      for (let i = el.children.length - 1; i >= 0; i--) {
        const child = el.children[i]!;
        if (isTag(child) && this.stats.has(child)) stack.push(child);
      }
    }
    for (let i = blocks.length - 1; i >= 0; i--) {
      const el = blocks[i]!;
      const rank = headingRank(el);
      if (rank === 0 || !looksLikeTitle(el)) continue;
      const next = blocks[i + 1];
      const nextRank = next ? headingRank(next) : 0;
      // "Related posts", "Leave a reply": a heading whose section was pruned away.
      if (!next || (nextRank > 0 && nextRank <= rank && isPrunedNext(el, pruned))) {
        pruned.add(el);
        blocks.splice(i, 1);
      }
    }
  }

  /** Visible text characters of a root once the pruned elements are left out. */
  keptText(root: Element, pruned: Set<Element>): number {
    let removed = 0;
    const stack: Element[] = [root];
    while (stack.length > 0) {
      const el = stack.pop()!;
      if (pruned.has(el)) {
        removed += this.stats.get(el)?.text ?? 0;
        continue;
      }
      for (const child of el.children) if (isTag(child)) stack.push(child);
    }
    return (this.stats.get(root)?.text ?? 0) - removed;
  }
}

/**
 * A dek: the sentence under the headline, set as a lower-ranked heading in the headline's <header> or
 * <hgroup>, after the <h1>.
 */
function isDek(el: Element): boolean {
  const rank = headingRank(el);
  const parent = parentOf(el);
  if (rank < 2 || !parent || !['header', 'hgroup'].includes(parent.name.toLowerCase())) return false;
  for (let prev = el.prev; prev; prev = prev.prev) if (isTag(prev) && headingRank(prev) === 1) return true;
  return false;
}

/**
 * Text set beside the picture in a <figure> is its caption or credit even when not in a <figcaption>
 * (a <span class="description">, a <p class="credit">). Figures that hold a table, a quotation or code
 * keep them.
 */
function isCaptionOfFigure(el: Element, name: string): boolean {
  const parent = parentOf(el);
  if (!parent || parent.name.toLowerCase() !== 'figure' || FIGURE_CONTENT.has(name)) return false;
  const isMedia = (node: AnyNode) => isTag(node) && FIGURE_MEDIA.has(node.name.toLowerCase());
  // The picture is a child of the figure, or wrapped once (in a link, a <div>).
  return parent.children.some((c) => c !== el && isTag(c) && (isMedia(c) || c.children.some(isMedia)));
}

function isArticle(el: Element, name: string): boolean {
  return name === 'article' || name === 'main' || el.attribs['itemprop']?.toLowerCase() === 'articlebody';
}

function firstClass(el: Element): string {
  return (el.attribs['class'] ?? '').trim().split(/\s+/)[0]!;
}

/** Tag and class: repeated units of one template share it. */
function signature(el: Element): string {
  return `${el.name.toLowerCase()}.${(el.attribs['class'] ?? '').trim()}`;
}

function normTitle(text: string): string {
  return text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, ' ').trim();
}

function isBoilerplateLine(el: Element): boolean {
  const text = textContent(el).replace(/\s+/g, ' ').trim().replace(/[:.!…»«"„“]+$/, '');
  return text !== '' && (BOILERPLATE_LINE.test(text) || DATE_LINE.test(text));
}

function isCaptionLine(el: Element): boolean {
  return CAPTION_LINE.test(textContent(el).replace(/\s+/g, ' ').trim());
}

/** A short heading without sentence punctuation, as section titles are. */
function looksLikeTitle(el: Element): boolean {
  const text = textContent(el).trim();
  return text.length <= 80 && !/[.!?…]$/.test(text);
}

/** The heading's next element sibling was pruned (or there is none). */
function isPrunedNext(el: Element, pruned: Set<Element>): boolean {
  let next = el.nextSibling;
  while (next && !isTag(next)) next = next.nextSibling;
  return !next || pruned.has(next as Element);
}

function headingRank(el: Element): number {
  const name = el.name.toLowerCase();
  return HEADINGS.has(name) ? Number(name[1]) : 0;
}

/** Readability's class weight: ±25 for content or furniture words in the class and id. */
function classWeight(el: Element): number {
  let weight = 0;
  const cls = (el.attribs['class'] ?? '').toLowerCase();
  const id = (el.attribs['id'] ?? '').toLowerCase();
  for (const value of [cls, id]) {
    if (!value) continue;
    const tokens = value.split(/\s+/);
    const boiler = tokens.some(isBoilerplateToken);
    const content = tokens.some((t) => CONTENT_WORD.test(t) && !STRONG_BOILERPLATE_WORD.test(t) && !STYLE_CLASS.test(t));
    if (boiler && !content) weight -= 25;
    if (content && !boiler) weight += 25;
  }
  if (el.attribs['itemprop']?.toLowerCase() === 'articlebody') weight += 50;
  return weight;
}

function hasBoilerplateWord(el: Element): boolean {
  return isBoilerplateName(`${el.attribs['class'] ?? ''} ${el.attribs['id'] ?? ''}`);
}

function isBoilerplateName(names: string): boolean {
  return names.toLowerCase().split(/\s+/).some((t) => t !== '' && isBoilerplateToken(t));
}

function isBoilerplateToken(token: string): boolean {
  return BOILERPLATE_WORD.test(token) || STRONG_BOILERPLATE_WORD.test(token);
}

function isHidden(el: Element): boolean {
  const a = el.attribs;
  if (a['hidden'] !== undefined || a['aria-hidden'] === 'true') return true;
  const style = a['style'];
  return style !== undefined && /(display\s*:\s*none|visibility\s*:\s*hidden)/i.test(style);
}

function visibleLength(data: string): number {
  let n = 0;
  let space = true;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    const ws = c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 160;
    if (ws) {
      if (!space) n++;
      space = true;
    } else {
      n++;
      space = false;
    }
  }
  return n;
}

function countCommas(data: string): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 44 || c === 0x3001 || c === 0xff0c || c === 0x060c) n++;
  }
  return n;
}

function sentenceEnds(text: string): number {
  return (text.match(/[.!?。！？](\s|$)/g) ?? []).length;
}

function parentOf(el: Element): Element | null {
  return el.parent && isTag(el.parent) ? el.parent : null;
}

function contains(ancestor: Element, el: Element): boolean {
  for (let e: Element | null = el; e; e = parentOf(e)) if (e === ancestor) return true;
  return false;
}
