/**
 * robots.txt path patterns (RFC 9309 2.2.3): a prefix match where `*` stands for any run of characters and
 * a final `$` anchors the end. Used for TDMRep `location` rules, Content-Signal paths and ai.txt. A
 * position-set walk (as google/robotstxt does), never a RegExp: patterns come from the site, and a
 * backtracking regex of many `*` is a denial of service.
 */
export function matchesPathPattern(pattern: string, path: string): boolean {
  let positions: number[] = [0];
  for (let p = 0; p < pattern.length; p++) {
    const ch = pattern[p];
    if (ch === '$' && p === pattern.length - 1) return positions.includes(path.length);
    if (ch === '*') {
      const from = Math.min(...positions);
      positions = [];
      for (let i = from; i <= path.length; i++) positions.push(i);
      continue;
    }
    const next: number[] = [];
    for (const i of positions) if (i < path.length && path[i] === ch) next.push(i + 1);
    if (next.length === 0) return false;
    positions = next;
  }
  return true;
}

/** The part of a URL that patterns match: path and query, percent-escapes upper-cased as robots-parser does. */
export function patternPath(url: URL): string {
  return (url.pathname + url.search).replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
}
