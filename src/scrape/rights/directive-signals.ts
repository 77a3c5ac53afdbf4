/**
 * Signals carried by a response and its HTML: `X-Robots-Tag` headers, `<meta name="robots">` (and meta
 * tags named after a bot), and TDMRep's `tdm-reservation` / `tdm-policy` headers and meta tags. Pure.
 *
 * Directives read: `noai` (no AI use of anything on the page), `noimageai` (no AI use of its images; says
 * nothing about the text), and `noindex` / `none` (search indexing: recorded, not a statement about AI).
 * A directive scoped to a bot (`X-Robots-Tag: GPTBot: noai`, `<meta name="GPTBot" content="noai">`)
 * applies when the bot is us or an AI-training crawler (tokens.ts); other scopes are recorded as seen.
 */
import { boundValue, type RightsEffect, type RightsSignal } from './verdict.js';
import { scopeApplies, type RightsTokens } from './tokens.js';

export type RightsSubject = 'page' | 'image';

export interface MetaTag {
  /** Lower case. */
  name: string;
  content: string;
}

const READ_DIRECTIVES = new Set(['noai', 'noimageai', 'noindex', 'none']);
/** Google's directives that take a value after a colon; anything else before a colon names a bot. */
const VALUED_DIRECTIVES = new Set(['unavailable_after', 'max-snippet', 'max-image-preview', 'max-video-preview']);
const MAX_DIRECTIVES = 64;

function directiveEffect(directive: string, subject: RightsSubject): { effect: RightsEffect; note?: string } {
  if (directive === 'noai') return { effect: 'reserved' };
  if (directive === 'noimageai') return subject === 'image' ? { effect: 'reserved' } : { effect: 'none', note: 'applies to images only' };
  return { effect: 'none', note: 'search indexing, not a statement about AI use' };
}

function directiveSignal(
  signal: 'x-robots-tag' | 'meta-robots', where: string, scope: string | undefined, directive: string, tokens: RightsTokens, subject: RightsSubject,
): RightsSignal {
  const value = scope ? `${scope}: ${directive}` : directive;
  if (scope && !scopeApplies(scope, tokens)) return { signal, where, value: boundValue(value), effect: 'none', note: `scoped to ${boundValue(scope, 64)}, not to us or an AI-training crawler` };
  const { effect, note } = directiveEffect(directive, subject);
  return note ? { signal, where, value: boundValue(value), effect, note } : { signal, where, value: boundValue(value), effect };
}

/**
 * One `X-Robots-Tag` field value: comma-separated directives; `bot: directive` scopes that directive and
 * the unscoped ones after it (within this value) to the bot, as Google reads it.
 */
export function xRobotsTagSignals(values: readonly string[], where: string, tokens: RightsTokens, subject: RightsSubject): RightsSignal[] {
  const out: RightsSignal[] = [];
  for (const value of values) {
    let scope: string | undefined;
    for (const raw of value.split(',').slice(0, MAX_DIRECTIVES)) {
      let part = raw.trim();
      const m = /^([A-Za-z0-9_.*-]+)\s*:\s*(.*)$/.exec(part);
      if (m && !VALUED_DIRECTIVES.has(m[1]!.toLowerCase())) {
        scope = m[1]!;
        part = m[2]!.trim();
      }
      const directive = part.toLowerCase();
      if (!READ_DIRECTIVES.has(directive)) continue;
      out.push(directiveSignal('x-robots-tag', where, scope === '*' ? undefined : scope, directive, tokens, subject));
    }
  }
  return out;
}

/** `<meta name="robots">` applies to every bot; a meta named after a bot applies as its scope says. */
export function metaRobotsSignals(meta: readonly MetaTag[], where: string, tokens: RightsTokens, subject: RightsSubject): RightsSignal[] {
  const out: RightsSignal[] = [];
  for (const tag of meta) {
    if (tag.name.startsWith('tdm-')) continue;
    const scope = tag.name === 'robots' ? undefined : tag.name;
    for (const raw of tag.content.split(',').slice(0, MAX_DIRECTIVES)) {
      const directive = raw.trim().toLowerCase();
      if (READ_DIRECTIVES.has(directive)) out.push(directiveSignal('meta-robots', `<meta name="${boundValue(tag.name, 64)}"> of ${where}`, scope, directive, tokens, subject));
    }
  }
  return out;
}

/** TDMRep `tdm-reservation`: exactly `1` reserves, `0` allows; anything else is a protocol error, read as unset. */
function reservationSignal(signal: 'tdmrep-header' | 'tdmrep-meta', where: string, raw: string): RightsSignal {
  const value = raw.trim();
  if (value === '1') return { signal, where, value: 'tdm-reservation: 1', effect: 'reserved' };
  if (value === '0') return { signal, where, value: 'tdm-reservation: 0', effect: 'allowed' };
  return { signal, where, value: `tdm-reservation: ${boundValue(value)}`, effect: 'none', note: 'malformed (must be 0 or 1): read as unset' };
}

function policySignal(signal: 'tdmrep-header' | 'tdmrep-meta', where: string, raw: string): RightsSignal {
  return { signal, where, value: `tdm-policy: ${boundValue(raw)}`, effect: 'none', note: 'where the rights holder offers a TDM licence' };
}

export function tdmHeaderSignals(headers: Readonly<Record<string, string>>, where: string): RightsSignal[] {
  const out: RightsSignal[] = [];
  const reservation = headers['tdm-reservation'];
  const policy = headers['tdm-policy'];
  if (reservation !== undefined) out.push(reservationSignal('tdmrep-header', `tdm-reservation header of ${where}`, reservation));
  if (policy !== undefined) out.push(policySignal('tdmrep-header', `tdm-policy header of ${where}`, policy));
  return out;
}

export function tdmMetaSignals(meta: readonly MetaTag[], where: string): RightsSignal[] {
  const out: RightsSignal[] = [];
  // The first tag of each name counts, as for any meta property.
  const reservation = meta.find((m) => m.name === 'tdm-reservation');
  const policy = meta.find((m) => m.name === 'tdm-policy');
  if (reservation) out.push(reservationSignal('tdmrep-meta', `<meta name="tdm-reservation"> of ${where}`, reservation.content));
  if (policy) out.push(policySignal('tdmrep-meta', `<meta name="tdm-policy"> of ${where}`, policy.content));
  return out;
}
