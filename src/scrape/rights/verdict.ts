/**
 * The rights decision: the signals seen for one item → its verdict. Pure; the one place the precedence
 * rule lives (docs/rights.md explains it):
 *
 * 1. TDMRep speaks once per item. Of its three techniques the first that gives a valid answer wins, in
 *    the protocol's processing order: the `/.well-known/tdmrep.json` rule, then the `tdm-reservation`
 *    header, then the `<meta name="tdm-reservation">` tag. The others are kept in the record, overridden.
 * 2. Across mechanisms the most restrictive wins: one applicable reservation makes the item `reserved`,
 *    whatever else allows it (a site that says "no" in one place has said no).
 * 3. Otherwise an explicit permission (`tdm-reservation: 0`, `Content-Signal: ai-train=yes`, a robots.txt
 *    or ai.txt group that names an AI crawler and allows the URL) makes it `allowed`.
 * 4. Otherwise `unknown`: nothing was said about AI training (unreachable or malformed files, `noindex`,
 *    directives scoped to other bots are recorded, but say nothing either way).
 */

import type { RightsMechanism, RightsRecord, RightsSignal, RightsVerdict } from '../../models/rights.js';

export type { RightsEffect, RightsMechanism, RightsRecord, RightsSignal, RightsVerdict } from '../../models/rights.js';

const TDMREP_ORDER: readonly RightsMechanism[] = ['tdmrep-file', 'tdmrep-header', 'tdmrep-meta'];

export function decideRights(signals: readonly RightsSignal[]): RightsRecord {
  const out = signals.map((s) => ({ ...s }));
  const tdm = out
    .filter((s) => TDMREP_ORDER.includes(s.signal) && s.effect !== 'none')
    .sort((a, b) => TDMREP_ORDER.indexOf(a.signal) - TDMREP_ORDER.indexOf(b.signal));
  const winner = tdm[0];
  for (const s of tdm.slice(1)) {
    if (s.signal === winner!.signal) continue; // one technique answers once; its parsers already chose
    s.note = `overridden by ${winner!.signal} (TDMRep processing order)`;
    s.effect = 'none';
  }
  const verdict: RightsVerdict = out.some((s) => s.effect === 'reserved') ? 'reserved' : out.some((s) => s.effect === 'allowed') ? 'allowed' : 'unknown';
  return { verdict, signals: out };
}

/** Values from a site are bounded before they are stored: a hostile header must not bloat every record. */
export function boundValue(value: string, max = 300): string {
  const v = value.replace(/\s+/g, ' ').trim();
  return v.length > max ? `${v.slice(0, max)}…` : v;
}
