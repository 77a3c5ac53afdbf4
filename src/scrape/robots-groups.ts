/**
 * What robots-parser does not keep of a robots.txt: which user agents have groups of their own, and the
 * `Content-Signal` lines with the group each belongs to. Grouping follows RFC 9309 2.1: consecutive
 * `user-agent` lines open a group, the rule lines after them belong to it; lines before any
 * `user-agent` belong to no group (kept with an empty agent list: they speak to everyone).
 */

export interface ContentSignalLine {
  /** Lower-case product tokens of the group; empty for a line outside any group. */
  agents: string[];
  /** 1-based. */
  line: number;
  value: string;
}

export interface RobotsGroups {
  /** Lower-case tokens of the groups with at least one allow or disallow rule. */
  agentsWithRules: string[];
  contentSignals: ContentSignalLine[];
}

/** A hostile file must not make the record large: later lines are ignored. */
const MAX_CONTENT_SIGNALS = 64;

export function scanRobotsGroups(body: string): RobotsGroups {
  const withRules = new Set<string>();
  const contentSignals: ContentSignalLine[] = [];
  let agents: string[] = [];
  let inAgentLines = false;
  const lines = body.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '');
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'user-agent') {
      if (!inAgentLines) agents = [];
      const token = value.toLowerCase().split('/')[0]!.trim();
      if (token) agents.push(token);
      inAgentLines = true;
      continue;
    }
    inAgentLines = false;
    if (key === 'allow' || key === 'disallow') agents.forEach((a) => withRules.add(a));
    else if (key === 'content-signal' && contentSignals.length < MAX_CONTENT_SIGNALS) contentSignals.push({ agents: [...agents], line: i + 1, value });
  }
  return { agentsWithRules: [...withRules], contentSignals };
}
