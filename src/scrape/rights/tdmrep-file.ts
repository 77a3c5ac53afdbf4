/**
 * TDMRep's well-known file, `/.well-known/tdmrep.json`: an array of rules
 * `{"location": "/path/*", "tdm-reservation": 0|1, "tdm-policy": "https://…"}`. `location` is a robots.txt
 * style path pattern; the first rule in the array whose location matches the URL applies. A rule that is
 * not of that shape is a protocol error: it is skipped (and noted), as TDMRep says to read such a value as
 * unset. A file that is not a JSON array of objects is malformed as a whole and says nothing.
 */
import { matchesPathPattern, patternPath } from './path-pattern.js';
import { boundValue, type RightsSignal } from './verdict.js';

export interface TdmRule {
  location: string;
  reservation: 0 | 1;
  policy?: string;
  /** 1-based position in the file. */
  index: number;
}

export type TdmrepFileView =
  | { kind: 'rules'; url: string; rules: TdmRule[]; skipped: string[] }
  | { kind: 'absent'; url: string }
  | { kind: 'unreachable'; url: string; reason: string }
  | { kind: 'malformed'; url: string; reason: string };

const MAX_RULES = 1000;
const MAX_NOTED = 5;

export function parseTdmrepFile(url: string, body: string): TdmrepFileView {
  let json: unknown;
  try {
    json = JSON.parse(body.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { kind: 'malformed', url, reason: `not JSON: ${boundValue((err as Error).message, 120)}` };
  }
  if (!Array.isArray(json)) return { kind: 'malformed', url, reason: 'not a JSON array of rules' };
  const rules: TdmRule[] = [];
  const skipped: string[] = [];
  json.slice(0, MAX_RULES).forEach((entry: unknown, i) => {
    const problem = ruleProblem(entry);
    if (problem) {
      if (skipped.length < MAX_NOTED) skipped.push(`rule ${i + 1}: ${problem}`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const rule: TdmRule = { location: (e['location'] as string).trim(), reservation: e['tdm-reservation'] as 0 | 1, index: i + 1 };
    if (typeof e['tdm-policy'] === 'string') rule.policy = e['tdm-policy'];
    rules.push(rule);
  });
  return { kind: 'rules', url, rules, skipped };
}

function ruleProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not an object';
  const e = entry as Record<string, unknown>;
  const location = e['location'];
  if (typeof location !== 'string' || !/^[/*]/.test(location.trim())) return 'location must be a path pattern starting with / or *';
  const r = e['tdm-reservation'];
  if (r !== 0 && r !== 1) return 'tdm-reservation must be 0 or 1';
  if (e['tdm-policy'] !== undefined && typeof e['tdm-policy'] !== 'string') return 'tdm-policy must be a URL string';
  return undefined;
}

export function tdmrepFileSignals(view: TdmrepFileView, target: URL): RightsSignal[] {
  if (view.kind === 'absent') return [];
  if (view.kind === 'unreachable' || view.kind === 'malformed') {
    return [{ signal: 'tdmrep-file', where: view.url, value: boundValue(view.reason), effect: 'none', note: view.kind === 'malformed' ? 'malformed: ignored' : 'could not be read; says nothing' }];
  }
  const out: RightsSignal[] = [];
  if (view.skipped.length) out.push({ signal: 'tdmrep-file', where: view.url, value: boundValue(view.skipped.join('; ')), effect: 'none', note: 'invalid rules skipped' });
  const path = patternPath(target);
  const rule = view.rules.find((r) => matchesPathPattern(r.location, path));
  if (rule) {
    const value = `location ${rule.location}: tdm-reservation ${rule.reservation}${rule.policy ? `, tdm-policy ${rule.policy}` : ''}`;
    out.push({ signal: 'tdmrep-file', where: `${view.url} rule ${rule.index}`, value: boundValue(value), effect: rule.reservation === 1 ? 'reserved' : 'allowed' });
  }
  return out;
}
