/**
 * RATE_LIMITS: rules separated by `;` or new lines (`#` starts a comment):
 *
 *   <per> [<METHOD>|*] [<path prefix>] <count>/<s|m|h> [burst <n>]
 *
 * `per` is `key` (one bucket per API key) or `ip` (per client address). A rule applies to requests whose
 * method and path match; each matching rule is its own token bucket, and every one must have a token.
 * E.g. `ip 20/s burst 40; key 50/s; key POST /text_tasks 5/s burst 20`.
 */

export interface RateRule {
  /** `r1`, `r2`… in the order written: the policy name in the RateLimit headers. */
  name: string;
  per: 'key' | 'ip';
  /** Upper-case method, or null for any. */
  method: string | null;
  /** Path prefix, or null for any path. */
  path: string | null;
  /** Tokens added per `periodMs`. */
  count: number;
  periodMs: number;
  /** Bucket size: requests allowed at once after a quiet spell (default `count`). */
  burst: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000 };
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', '*']);

export class RateRuleError extends Error {}

function parseRule(text: string, index: number): RateRule {
  const fail = (why: string) => new RateRuleError(`rate limit rule ${index} "${text}": ${why}`);
  const words = text.split(/\s+/);
  const per = words.shift();
  if (per !== 'key' && per !== 'ip') throw fail('must start with "key" or "ip"');
  let method: string | null = null;
  let path: string | null = null;
  let rate: RegExpExecArray | null = null;
  let burst: number | undefined;
  while (words.length) {
    const w = words.shift() as string;
    const r = /^(\d+)\/([a-z]+)$/.exec(w);
    if (r) {
      rate = r;
    } else if (w === 'burst') {
      const n = Number(words.shift());
      if (!Number.isInteger(n) || n < 1) throw fail('burst must be a positive integer');
      burst = n;
    } else if (!rate && METHODS.has(w.toUpperCase()) && method === null && path === null) {
      method = w === '*' ? null : w.toUpperCase();
    } else if (!rate && w.startsWith('/') && path === null) {
      path = w.replace(/\*$/, '');
    } else {
      throw fail(`cannot read "${w}"`);
    }
  }
  if (!rate) throw fail('needs a rate such as 10/s, 600/m or 1000/h');
  const count = Number(rate[1]);
  const periodMs = UNIT_MS[rate[2] as string];
  if (!periodMs) throw fail(`unknown unit "${rate[2]}" (s, m or h)`);
  if (count < 1) throw fail('the count must be at least 1');
  return { name: `r${index}`, per, method, path, count, periodMs, burst: burst ?? count };
}

export function parseRateRules(text: string): RateRule[] {
  return text
    .split(/[;\n]/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line, i) => parseRule(line, i + 1));
}

export const ruleMatches = (rule: RateRule, method: string, path: string): boolean =>
  (rule.method === null || rule.method === method || (rule.method === 'GET' && method === 'HEAD'))
  && (rule.path === null || path === rule.path || path.startsWith(rule.path.endsWith('/') ? rule.path : `${rule.path}/`));
