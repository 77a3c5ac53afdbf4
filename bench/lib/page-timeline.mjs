/**
 * Where a cluster worker's slot time goes, per worker, from the debug-level "timeline" steps the RabbitMQ queue and
 * the task runner log (run the workers with LOG_LEVEL=debug, e.g. `LOG_LEVEL=debug BENCH_ONLY=scaleout node
 * bench/run.mjs`):
 * - jobs that ran a page (a task started here): their slot time (slot → workDone), of which slot → first start
 *   and slot → page fetched, and the longest (the first page of a process pays its start-up);
 * - jobs that ran nothing (a duplicate message: the page was another worker's, or done): their count and slot time;
 * - the slot's idle time between jobs;
 * - with several workers' logs, for the jobs that ran nothing: how long before their slot another worker had
 *   started their task.
 *
 *   node bench/lib/page-timeline.mjs bench/out/scaleout/cluster4/*-worker*.log
 */
import fs from 'node:fs';
import path from 'node:path';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * q))] : NaN;
};

function steps(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"timeline"')).map((l) => JSON.parse(l)).map((e) => ({ ...e, t: Date.parse(e.time) }));
}

export function slotTimeline(file, events = steps(file)) {
  const slots = new Map();
  const jobs = [];
  for (const e of events) {
    if (e.step === 'slot') slots.set(e.taskId, { from: e.t, real: false });
    const s = slots.get(e.of);
    if (e.step === 'acquired' && s) {
      s.real = true;
      s.acquired ??= e.t;
    }
    if (e.step === 'paged') for (const o of slots.values()) if (o.real && o.paged === undefined && o.to === undefined) o.paged = e.t;
    const done = slots.get(e.taskId);
    if (e.step === 'workDone' && done && done.to === undefined) {
      done.to = e.t;
      jobs.push(done);
    }
  }
  jobs.sort((a, b) => a.from - b.from);
  if (!jobs.length) return { file: path.basename(file), jobs: 0 };
  const real = jobs.filter((j) => j.real);
  const none = jobs.filter((j) => !j.real);
  const idle = jobs.slice(1).map((j, i) => j.from - jobs[i].to);
  return {
    file: path.basename(file),
    spanMs: jobs.at(-1).to - jobs[0].from,
    pages: real.length,
    pageSlotMs: { median: median(real.map((j) => j.to - j.from)), sum: sum(real.map((j) => j.to - j.from)), longest: Math.max(...real.map((j) => j.to - j.from)) },
    slotToStartMs: median(real.map((j) => j.acquired - j.from)),
    slotToPageMs: median(real.filter((j) => j.paged).map((j) => j.paged - j.from)),
    ranNothing: { jobs: none.length, medianMs: median(none.map((j) => j.to - j.from)), sumMs: sum(none.map((j) => j.to - j.from)) },
    idleMs: sum(idle),
  };
}

/** For the jobs that ran nothing: when another worker had started their task, relative to their delivery and slot. */
export function takenElsewhere(files) {
  const perFile = files.map((f) => steps(f));
  const started = new Map();
  for (const events of perFile) for (const e of events) if (e.step === 'acquired') started.set(e.taskId, e.t);
  let beforeDelivery = 0;
  const lead = [];
  for (const events of perFile) {
    const delivered = new Map();
    const slot = new Map();
    const ranHere = new Set();
    for (const e of events) {
      if (e.step === 'delivered') delivered.set(e.taskId, e.t);
      if (e.step === 'slot') slot.set(e.taskId, e.t);
      if (e.step === 'acquired') ranHere.add(e.of);
    }
    for (const [id, t] of slot) {
      const other = started.get(id);
      if (ranHere.has(id) || other === undefined) continue;
      if (other <= delivered.get(id)) beforeDelivery++;
      lead.push(t - other);
    }
  }
  return { jobs: lead.length, takenBeforeDelivery: beforeDelivery, slotAfterTakenMs: { p10: quantile(lead, 0.1), p50: quantile(lead, 0.5), p90: quantile(lead, 0.9) } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  for (const file of files) console.log(JSON.stringify(slotTimeline(file)));
  if (files.length > 1) console.log(JSON.stringify(takenElsewhere(files)));
}
