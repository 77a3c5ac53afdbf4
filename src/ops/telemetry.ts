/**
 * What the process counts, in one place: Prometheus metrics (prom-client, one registry per process) and
 * the usage counters behind GET /stats. Code anywhere reports through `telemetry`; the composition root
 * connects the usage counter. Reporting never throws and costs a few map updates.
 */
import client from 'prom-client';
import type { UsageDims } from '../models/ops-store.js';

export type UsageSink = (metric: string, dims: Partial<UsageDims>, n?: number) => void;

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

const http = new client.Histogram({
  name: 'scrapeds_http_request_duration_seconds',
  help: 'API requests by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [registry],
});
const tasksStarted = new client.Counter({ name: 'scrapeds_tasks_started_total', help: 'Task attempts started', labelNames: ['kind'] as const, registers: [registry] });
const tasksFinished = new client.Counter({
  name: 'scrapeds_tasks_finished_total', help: 'Tasks finished, by kind and error code (ok when succeeded)', labelNames: ['kind', 'code'] as const, registers: [registry],
});
const fetchSeconds = new client.Histogram({
  name: 'scrapeds_fetch_duration_seconds', help: 'Fetches (one request with its redirects) by outcome: ok or the error code',
  labelNames: ['outcome'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
});
const fetchBytes = new client.Counter({ name: 'scrapeds_fetch_bytes_total', help: 'Body bytes fetched (after decompression) by outcome', labelNames: ['outcome'] as const, registers: [registry] });
const hostWaits = new client.Histogram({
  name: 'scrapeds_host_limiter_wait_seconds', help: 'Time a request waited for its host slot and delay', buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 60], registers: [registry],
});
const robotsRefusals = new client.Counter({ name: 'scrapeds_robots_refusals_total', help: 'Fetches robots.txt did not allow', registers: [registry] });
const rightsRefusals = new client.Counter({ name: 'scrapeds_rights_refusals_total', help: 'Items not kept because their rights are reserved', registers: [registry] });
const proxyRotations = new client.Counter({ name: 'scrapeds_proxy_rotations_total', help: 'Switches to the next proxy, by reason', labelNames: ['reason'] as const, registers: [registry] });
const rateLimited = new client.Counter({ name: 'scrapeds_rate_limited_total', help: 'Requests refused with 429, by rule', labelNames: ['rule'] as const, registers: [registry] });
let readQueueDepth: (() => number) | undefined;
new client.Gauge({
  name: 'scrapeds_queue_depth', help: 'Jobs waiting in this process\'s queue (in-process queue only)', registers: [registry],
  collect() {
    if (readQueueDepth) this.set(readQueueDepth());
  },
});
const inFlight = new client.Gauge({ name: 'scrapeds_tasks_in_flight', help: 'Tasks running in this process', registers: [registry] });

let usage: UsageSink = () => undefined;

const hostOf = (url: string): string => {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
};

export const telemetry = {
  /** Connects the usage counter (GET /stats); without one, only Prometheus counts. */
  setUsageSink(sink: UsageSink | undefined): void {
    usage = sink ?? (() => undefined);
  },
  /** Sets a callback that reports the queue depth when /metrics is scraped. */
  setQueueDepth(read: (() => number) | undefined): void {
    readQueueDepth = read;
  },
  httpRequest(e: { method: string; route: string; status: number; seconds: number; key: string; ip: string }): void {
    http.observe({ method: e.method, route: e.route, status: String(e.status) }, e.seconds);
    const dims = { key: e.key, ip: e.ip, path: `${e.method} ${e.route}` };
    usage('requests', dims);
    usage(`status_${Math.floor(e.status / 100)}xx`, dims);
  },
  rateLimited(rule: string): void {
    rateLimited.inc({ rule });
  },
  taskStarted(kind: string): void {
    tasksStarted.inc({ kind });
    inFlight.inc();
  },
  /** `code` is the error code, or undefined for a success. */
  taskFinished(e: { kind: string; code?: string; owner?: string; url: string; pageBytes?: number; imagesStored?: number }): void {
    inFlight.dec();
    const outcome = e.code ?? 'succeeded';
    tasksFinished.inc({ kind: e.kind, code: e.code ?? 'ok' });
    const dims = { key: e.owner ?? '', host: hostOf(e.url) };
    usage(`tasks_${e.kind}_${outcome}`, dims);
    if (e.pageBytes !== undefined) usage('pages', dims);
    if (e.imagesStored) usage('images', dims, e.imagesStored);
  },
  /** A task attempt interrupted by shutdown: it is neither finished nor running here any more. */
  taskInterrupted(): void {
    inFlight.dec();
  },
  fetched(e: { outcome: string; seconds: number; bytes: number; url: string }): void {
    fetchSeconds.observe({ outcome: e.outcome }, e.seconds);
    if (e.bytes) {
      fetchBytes.inc({ outcome: e.outcome }, e.bytes);
      usage('bytes_fetched', { host: hostOf(e.url) }, e.bytes);
    }
  },
  stored(e: { bytes: number; owner?: string; url: string }): void {
    usage('bytes_stored', { key: e.owner ?? '', host: hostOf(e.url) }, e.bytes);
  },
  hostWait(seconds: number): void {
    hostWaits.observe(seconds);
  },
  robotsRefused(url: string): void {
    robotsRefusals.inc();
    usage('robots_refusals', { host: hostOf(url) });
  },
  /** The hook for the rights feature: call it once per item not kept because its rights are reserved. */
  rightsRefused(e: { url: string; owner?: string }): void {
    rightsRefusals.inc();
    usage('rights_refusals', { key: e.owner ?? '', host: hostOf(e.url) });
  },
  proxyRotated(reason: string): void {
    proxyRotations.inc({ reason });
  },
};
