/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time summed by function + script, and by package or
 * source file, largest first; and the inclusive time of the service's own (dist/) functions. CLI: node bench/cpuprofile-summary.mjs FILE… [TOP] prints markdown tables (main thread, then worker threads summed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a script URL comes from: an npm package, a file of ours, node itself. */
function origin(url) {
  if (!url) return '(native: bindings, V8 builtins)';
  // node:internal/fs/promises → node:internal/fs; node:events → node:events
  if (url.startsWith('node:')) return url.split('/').slice(0, url.startsWith('node:internal/') ? 2 : 1).join('/');
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = p.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = p.lastIndexOf('/dist/');
  return dist >= 0 ? p.slice(dist + 1) : path.basename(p);
}

/**
 * One or more profiles (e.g. every worker thread's) summed together. `window` {fromUs, toUs} keeps only the
 * samples taken in it: profile timestamps are CLOCK_MONOTONIC µs, the clock of process.hrtime in any process.
 */
export function summarise(profiles, window) {
  const fn = new Map();
  const pkg = new Map();
  const own = new Map();
  let total = 0;
  for (const profile of [profiles].flat()) total += add(profile, fn, pkg, own, window);
  const rank = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ key: k, ms: us / 1000, share: us / total }));
  return { totalMs: total / 1000, functions: rank(fn), origins: rank(pkg), ownInclusive: rank(own) };
}

function add(profile, fn, pkg, own, window) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // samples[i] was taken timeDeltas[i+1] µs before the next one; attribute each delta to its sample.
  const { samples, timeDeltas } = profile;
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i];
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const dt = timeDeltas[i + 1] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const parent = new Map();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const SPECIAL = ['(idle)', '(program)', '(garbage collector)', '(root)'];
  /** A native frame (fs binding, V8 builtin) counts for the nearest caller that has a script. */
  const caller = (id) => {
    for (let n = parent.get(id); n !== undefined; n = parent.get(n)) if (byId.get(n).callFrame.url) return byId.get(n).callFrame;
    return undefined;
  };
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    // A piscina worker blocked in Atomics.wait is a thread with nothing to do.
    const name = functionName === 'atomicsWaitLoop' && url.includes('/piscina/') ? '(idle)' : functionName || '(anonymous)';
    let where = '';
    let o = name;
    if (name === '(idle)') {
      o = name;
    } else if (url) {
      where = `${url.startsWith('node:') ? url : `${origin(url)}${url.includes('/node_modules/') ? `/${path.basename(url)}` : ''}`}:${lineNumber + 1}`;
      o = origin(url);
    } else if (!SPECIAL.includes(name)) {
      const c = caller(id);
      where = c ? `native, from \`${c.functionName || '(anonymous)'}\` ${origin(c.url)}` : 'native';
      o = c ? origin(c.url) : origin('');
    }
    const key = `${name}\t${where}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    pkg.set(o, (pkg.get(o) ?? 0) + us);
  }
  // Inclusive time of the service's own functions (scripts under dist/): each sample counts once per function on its stack.
  for (const [id, us] of self) {
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const { functionName, url, lineNumber } = byId.get(n).callFrame;
      if (!url.includes('/dist/') || url.includes('/node_modules/')) continue;
      const key = `${functionName || '(anonymous)'}\t${origin(url)}:${lineNumber + 1}`;
      if (!seen.has(key)) own.set(key, (own.get(key) ?? 0) + us);
      seen.add(key);
    }
  }
  return [...self.values()].reduce((a, b) => a + b, 0);
}

/** node --cpu-prof names files CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread. */
export const isMainThread = (file) => /\.\d+\.0\.\d+\.cpuprofile$/.test(file);

export function summaryMarkdown(files, top = 20, window) {
  const s = summarise(
    [files].flat().map((f) => JSON.parse(fs.readFileSync(f, 'utf8'))),
    window,
  );
  const busy = s.functions.filter((f) => !f.key.startsWith('(idle)')).reduce((a, f) => a + f.ms, 0);
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `Sampled ${(s.totalMs / 1000).toFixed(1)} s, of which ${(busy / 1000).toFixed(1)} s not idle.`,
    '',
    '| self time by package / file (native frames counted for their caller) | ms | share |',
    '|---|---:|---:|',
    ...s.origins.slice(0, 12).map((o) => `| ${o.key} | ${o.ms.toFixed(0)} | ${pct(o.share)} |`),
    '',
    '| top functions by self time | where | ms | share |',
    '|---|---|---:|---:|',
    ...s.functions.slice(0, top).map((f) => {
      const [name, where] = f.key.split('\t');
      return `| \`${name}\` | ${where || '—'} | ${f.ms.toFixed(0)} | ${pct(f.share)} |`;
    }),
    '',
    "| the service's own functions, inclusive time (callees counted) | where | ms | share |",
    '|---|---|---:|---:|',
    ...s.ownInclusive.slice(0, 15).map((f) => {
      const [name, where] = f.key.split('\t');
      return `| \`${name}\` | ${where} | ${f.ms.toFixed(0)} | ${pct(f.share)} |`;
    }),
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
  const top = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 20);
  const main = files.filter(isMainThread);
  const workers = files.filter((f) => !isMainThread(f));
  if (main.length) console.log(`### main thread\n\n${summaryMarkdown(main, top)}\n`);
  if (workers.length) console.log(`### worker threads (${workers.length}, summed)\n\n${summaryMarkdown(workers, top)}`);
}
