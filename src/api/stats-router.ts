/**
 * GET /stats: usage summed by time bucket and optionally by key, client address, route or target host.
 * Admin keys (and AUTH=off) see everyone's usage; any other key sees only what it did itself.
 */
import { Router } from 'express';
import { z } from 'zod';
import {
  INTERVAL_MS, USAGE_GROUPS, USAGE_INTERVALS, bucketOf, type UsageStore, type UsageTotal,
} from '../models/ops-store.js';
import { allowOnly } from './allow-only.js';
import { callerOf, ownerFilter } from './auth.js';
import { parse } from './validation.js';

const DAY = 86_400_000;
const MAX_BUCKETS = 10_000;

const instant = (field: string) =>
  z.string().refine((v) => !Number.isNaN(Date.parse(v)), `must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z (${field})`).transform((v) => Date.parse(v));

const statsQuery = z
  .strictObject(
    {
      from: instant('from').optional(),
      to: instant('to').optional(),
      group_by: z.enum(USAGE_GROUPS, { error: `must be one of ${USAGE_GROUPS.join(', ')}` }).optional(),
      interval: z.enum(USAGE_INTERVALS, { error: `must be one of ${USAGE_INTERVALS.join(', ')}` }).default('hour'),
    },
    { error: (i) => (i.code === 'unrecognized_keys' ? `unknown parameter(s): ${i.keys.join(', ')}` : 'invalid query') },
  )
  .transform((q) => {
    const to = q.to ?? Date.now();
    return { ...q, to, from: q.from ?? to - DAY };
  })
  .superRefine((q, ctx) => {
    if (q.from >= q.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to' });
    else if ((q.to - q.from) / INTERVAL_MS[q.interval] > MAX_BUCKETS) {
      ctx.addIssue({ code: 'custom', path: ['interval'], message: `gives more than ${MAX_BUCKETS} buckets for this range; use a wider interval or a shorter range` });
    }
  });

type Summary = {
  requests: number;
  status: Record<string, number>;
  tasks: Record<string, Record<string, number>>;
  [metric: string]: number | Record<string, unknown>;
};

const emptySummary = (): Summary => ({
  requests: 0, status: {}, tasks: {}, pages: 0, images: 0, bytes_fetched: 0, bytes_stored: 0, robots_refusals: 0, rights_refusals: 0,
});

/** Counter names (see telemetry.ts) → the nested answer: status_2xx, tasks_<kind>_<outcome>, the rest as named. */
function addTo(s: Summary, metric: string, n: number): void {
  const status = /^status_(\dxx)$/.exec(metric);
  const task = /^tasks_([a-z]+)_(.+)$/.exec(metric);
  if (status) s.status[status[1] as string] = (s.status[status[1] as string] ?? 0) + n;
  else if (task) {
    const kind = (s.tasks[task[1] as string] ??= {});
    kind[task[2] as string] = (kind[task[2] as string] ?? 0) + n;
  } else s[metric] = ((s[metric] as number | undefined) ?? 0) + n;
}

export function summarize(rows: UsageTotal[], grouped: boolean) {
  const totals = emptySummary();
  const buckets = new Map<number, Map<string, Summary>>();
  for (const r of rows) {
    addTo(totals, r.metric, r.n);
    let groups = buckets.get(r.bucket);
    if (!groups) buckets.set(r.bucket, (groups = new Map()));
    let s = groups.get(r.group);
    if (!s) groups.set(r.group, (s = emptySummary()));
    addTo(s, r.metric, r.n);
  }
  return {
    totals,
    buckets: [...buckets].map(([start, groups]) => ({
      start: new Date(start).toISOString(),
      ...(grouped ? { groups: [...groups].map(([group, s]) => ({ group, ...s })) } : groups.get('') ?? emptySummary()),
    })),
  };
}

export function statsRouter(deps: { usage: UsageStore; flush: () => Promise<void> }): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const q = parse(statsQuery, req.query, 'query');
    await deps.flush(); // this process's latest counts; other processes' arrive within their flush interval
    const from = bucketOf(q.from, 'minute');
    const key = ownerFilter(callerOf(res));
    const rows = await deps.usage.queryUsage({ from, to: q.to, interval: q.interval, groupBy: q.group_by, ...(key !== undefined ? { key } : {}) });
    res.json({
      from: new Date(from).toISOString(),
      to: new Date(q.to).toISOString(),
      interval: q.interval,
      group_by: q.group_by ?? null,
      key: key ?? null,
      ...summarize(rows, q.group_by !== undefined),
    });
  });
  router.all('/', allowOnly('GET'));
  return router;
}
