/**
 * URL normalisation for crawls, so one page reached by different spellings is queued once: the WHATWG
 * parser already lower-cases the host, drops default ports and resolves dot segments; here fragments are
 * dropped, a trailing dot of the host and an empty query removed, and optionally common tracking parameters.
 * Pure: no I/O.
 */

/** Parameters that say where a visitor came from, not what page they asked for. */
const TRACKING_EXACT = new Set([
  'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'fbclid', 'msclkid', 'yclid', 'twclid', 'ttclid', 'li_fat_id',
  'igshid', 'mc_cid', 'mc_eid', '_ga', '_gl', '_hsenc', '_hsmi', 'mkt_tok', 'vero_id', 'oly_anon_id', 'oly_enc_id', 'rb_clickid', 's_cid',
]);
const TRACKING_PREFIXES = ['utm_', 'pk_', 'mtm_'];

export interface NormaliseOptions {
  stripTrackingParams?: boolean;
}

export function isTrackingParam(name: string): boolean {
  const n = name.toLowerCase();
  return TRACKING_EXACT.has(n) || TRACKING_PREFIXES.some((p) => n.startsWith(p));
}

/**
 * The normal form of `href` (resolved against `base`), or undefined when it is not a crawlable URL:
 * not http(s), unparsable, without a host, or carrying credentials (refused, as the API refuses them).
 */
export function normaliseUrl(href: string, base?: string | URL, options: NormaliseOptions = {}): string | undefined {
  // As browsers do: tabs and newlines vanish, surrounding spaces are trimmed.
  const cleaned = href.replace(/[\t\n\r]/g, '').trim();
  if (!cleaned) return undefined;
  let url: URL;
  try {
    url = new URL(cleaned, base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (!url.hostname || url.username || url.password) return undefined;
  url.hash = '';
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.replace(/\.+$/, '');
  if (options.stripTrackingParams && url.search) {
    const kept = [...url.searchParams].filter(([name]) => !isTrackingParam(name));
    if (kept.length !== [...url.searchParams].length) url.search = new URLSearchParams(kept).toString();
  }
  // `?` with nothing after it asks for the same resource as none.
  return url.href.endsWith('?') ? url.href.slice(0, -1) : url.href;
}
