/**
 * The rights record of an item (a page or an image): what the site said about AI training, and the
 * verdict. The rule that turns signals into a verdict is src/scrape/rights/verdict.ts; docs/rights.md.
 */

export type RightsVerdict = 'reserved' | 'allowed' | 'unknown';
/** What one signal says about this item on its own. */
export type RightsEffect = 'reserved' | 'allowed' | 'none';

export type RightsMechanism =
  | 'robots.txt'
  | 'content-signal'
  | 'x-robots-tag'
  | 'meta-robots'
  | 'tdmrep-file'
  | 'tdmrep-header'
  | 'tdmrep-meta'
  | 'ai.txt';

export interface RightsSignal {
  signal: RightsMechanism;
  /** Where it was seen: a file and its group, line or rule; a header or tag and the URL it came with. */
  where: string;
  /** The value as written (whitespace collapsed, bounded). */
  value: string;
  effect: RightsEffect;
  /** Why the effect is what it is when the value alone does not say (scoped elsewhere, malformed, overridden…). */
  note?: string;
}

export interface RightsRecord {
  verdict: RightsVerdict;
  signals: RightsSignal[];
}

/** RIGHTS_POLICY: `respect` keeps no content of a reserved item; `record` keeps it and marks it; `off` reads nothing. */
export type RightsPolicy = 'respect' | 'record' | 'off';
