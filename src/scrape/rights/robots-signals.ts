/**
 * Signals from robots.txt-format files. Pure: the files arrive parsed (robots.ts, origin-files.ts).
 *
 * robots.txt
 * - Our own token (or `*` when we have no group): a rule disallowing the URL is recorded, neutral. It is
 *   about crawling, which RESPECT_ROBOTS_TXT governs (the fetcher refuses such URLs unless it is false),
 *   not about AI training.
 * - Each AI-training crawler token with a group of its own: its rule for the URL reserves or allows. A
 *   token without a group falls back to `*`, which is not a statement about AI, so nothing is recorded.
 * - `Content-Signal` lines (contentsignals.org) in a group for `*`, us or an AI crawler, or outside any
 *   group: `ai-train=no` reserves, `ai-train=yes` allows; `search` and `ai-input` are recorded only. A
 *   leading `/path` limits a line to URLs matching it.
 * ai.txt (Spawning): robots.txt syntax, every group about AI use. The rule matching the URL for our token
 *   (or `*`) reserves or allows; paths like `*.jpg` are read as `/*.jpg`.
 */
import type { Robot } from '../robots.js';
import type { RobotsGroups } from '../robots-groups.js';
import { matchesPathPattern, patternPath } from './path-pattern.js';
import { scopeApplies, type RightsTokens } from './tokens.js';
import { boundValue, type RightsSignal } from './verdict.js';

/** A robots.txt or ai.txt as the rights reader sees it. */
export type RobotsFileView =
  | { kind: 'rules'; url: string; robot: Robot; groups: RobotsGroups }
  | { kind: 'absent'; url: string }
  | { kind: 'unreachable'; url: string; reason: string };

function unreachable(signal: 'robots.txt' | 'ai.txt', view: { url: string; reason: string }): RightsSignal {
  return { signal, where: view.url, value: boundValue(view.reason), effect: 'none', note: 'could not be read; says nothing' };
}

function ruleSignal(signal: 'robots.txt' | 'ai.txt', view: { url: string; robot: Robot }, target: URL, token: string, group: string): RightsSignal | undefined {
  const line = view.robot.getMatchingLineNumber(target.href, token);
  if (line === undefined || line < 0) return undefined;
  const allowed = view.robot.isAllowed(target.href, token) !== false;
  return { signal, where: `${view.url} line ${line} (group ${group})`, value: allowed ? 'Allow' : 'Disallow', effect: allowed ? 'allowed' : 'reserved' };
}

export function robotsTxtSignals(view: RobotsFileView, target: URL, tokens: RightsTokens): RightsSignal[] {
  if (view.kind === 'absent') return [];
  if (view.kind === 'unreachable') return [unreachable('robots.txt', view)];
  const out: RightsSignal[] = [];
  const named = new Set(view.groups.agentsWithRules);
  const ours = ruleSignal('robots.txt', view, target, tokens.ours, named.has(tokens.ours) ? `"${tokens.ours}"` : `"*", for "${tokens.ours}"`);
  // Our own group speaks to crawling only: a Disallow is recorded, an Allow is no permission to train.
  if (ours?.effect === 'reserved') out.push({ ...ours, effect: 'none', note: 'crawling access, governed by RESPECT_ROBOTS_TXT; not a statement about AI training' });
  for (const token of tokens.ai) {
    if (!named.has(token)) continue;
    const s = ruleSignal('robots.txt', view, target, token, `"${token}"`);
    if (s) out.push(s);
  }
  out.push(...contentSignals(view, target, tokens));
  return out;
}

function contentSignals(view: { url: string; groups: RobotsGroups }, target: URL, tokens: RightsTokens): RightsSignal[] {
  const out: RightsSignal[] = [];
  const path = patternPath(target);
  for (const cs of view.groups.contentSignals) {
    const where = `${view.url} line ${cs.line}${cs.agents.length ? ` (group ${cs.agents.map((a) => `"${a}"`).join(', ')})` : ''}`;
    const value = boundValue(cs.value);
    const applies = cs.agents.length === 0 || cs.agents.some((a) => a === '*' || scopeApplies(a, tokens));
    if (!applies) {
      out.push({ signal: 'content-signal', where, value, effect: 'none', note: 'in a group for other bots' });
      continue;
    }
    const parsed = parseContentSignal(cs.value);
    if (!parsed) {
      out.push({ signal: 'content-signal', where, value, effect: 'none', note: 'malformed: expected key=yes|no pairs' });
      continue;
    }
    if (parsed.path !== undefined && !matchesPathPattern(parsed.path, path)) continue;
    const train = parsed.signals.get('ai-train');
    if (train === 'no') out.push({ signal: 'content-signal', where, value, effect: 'reserved' });
    else if (train === 'yes') out.push({ signal: 'content-signal', where, value, effect: 'allowed' });
    else out.push({ signal: 'content-signal', where, value, effect: 'none', note: 'no ai-train preference' });
  }
  return out;
}

/** `[/path] key=yes|no, key=yes|no…`; null when any pair is not of that form. */
export function parseContentSignal(value: string): { path?: string; signals: Map<string, 'yes' | 'no'> } | null {
  let rest = value.trim();
  let path: string | undefined;
  const m = /^(\/\S*)\s+(.*)$/.exec(rest);
  if (m) {
    path = m[1]!;
    rest = m[2]!;
  }
  const signals = new Map<string, 'yes' | 'no'>();
  for (const pair of rest.split(',')) {
    const kv = /^\s*([a-z0-9-]+)\s*=\s*(yes|no)\s*$/i.exec(pair);
    if (!kv) return null;
    signals.set(kv[1]!.toLowerCase(), kv[2]!.toLowerCase() as 'yes' | 'no');
  }
  return signals.size ? { path, signals } : null;
}

export function aiTxtSignals(view: RobotsFileView, target: URL, tokens: RightsTokens): RightsSignal[] {
  if (view.kind === 'absent') return [];
  if (view.kind === 'unreachable') return [unreachable('ai.txt', view)];
  const s = ruleSignal('ai.txt', view, target, tokens.ours, view.groups.agentsWithRules.includes(tokens.ours) ? `"${tokens.ours}"` : '"*"');
  return s ? [s] : [];
}

/** ai.txt writes paths without the leading slash (`Disallow: *.jpg`); robots-parser needs one. */
export function normaliseAiTxt(body: string): string {
  return body.replace(/^(\s*(?:allow|disallow)\s*:\s*)([^/\s#][^\s#]*)/gim, '$1/$2');
}
