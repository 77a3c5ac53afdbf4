/**
 * How busy the workers of a cluster run kept their slots, from their logs ("task started" / "task finished"
 * lines): per worker, tasks, the span from the first start to the last finish, the median run per kind, and
 * the tasks in flight on average (the sum of the runs over the span). With WORKER_CONCURRENCY=c a worker
 * whose pace the site's latency sets keeps about c pages (2c tasks of a two-kind batch) in flight.
 *
 *   node bench/lib/task-timeline.mjs bench/out/scaleout/cluster1/*-worker*.log
 */
import fs from 'node:fs';
import path from 'node:path';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

export function timeline(file) {
  const started = new Map();
  const runs = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"task started"') && !line.includes('"task finished"')) continue;
    const e = JSON.parse(line);
    const at = Date.parse(e.time);
    if (e.msg === 'task started') started.set(e.taskId, { at, kind: e.kind });
    else if (started.has(e.taskId)) runs.push({ kind: e.kind, from: started.get(e.taskId).at, to: at });
  }
  if (!runs.length) return { file: path.basename(file), tasks: 0 };
  const from = Math.min(...runs.map((r) => r.from));
  const to = Math.max(...runs.map((r) => r.to));
  const busy = runs.reduce((n, r) => n + (r.to - r.from), 0);
  const byKind = Object.fromEntries([...new Set(runs.map((r) => r.kind))].map((k) => [k, median(runs.filter((r) => r.kind === k).map((r) => r.to - r.from))]));
  return { file: path.basename(file), tasks: runs.length, spanS: (to - from) / 1000, medianMs: byKind, inFlight: busy / (to - from) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) console.log(JSON.stringify(timeline(file)));
}
