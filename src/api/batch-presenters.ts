/** Batches and exports → wire representation (snake_case JSON, links). */
import { batchState, finishedAt, unfinishedCount } from '../models/batch-progress.js';
import type { BatchWithProgress, ExportRecord } from '../models/batch.js';
import type { CrawlCounters } from '../models/crawl.js';
import { presentCrawlSpec } from './crawl-input.js';
import type { BlobStore } from '../storage/blob-store.js';

const seconds = (from: string, to: string): number => Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/** `counters`: a crawl's frontier counters, when read (GET /batches/:id); lists leave them null. */
export function presentBatch(b: BatchWithProgress, now = new Date().toISOString(), counters: CrawlCounters | null = null) {
  const { counts } = b.progress;
  const finished = counts.succeeded + counts.failed;
  const total = finished + unfinishedCount(b.progress);
  const end = finishedAt(b);
  // Rate over the time tasks have been running: from the first start to the last finish (or now).
  const elapsed = b.progress.startedAt ? seconds(b.progress.startedAt, end ?? now) : 0;
  const rate = elapsed > 0 ? finished / elapsed : null;
  const left = unfinishedCount(b.progress);
  const self = `/batches/${b.id}`;
  return {
    id: b.id,
    status: batchState(b),
    kinds: b.kinds,
    refresh: b.refresh,
    url_count: b.urlCount,
    task_count: b.taskCount,
    counts: { ...counts, finished },
    progress: total === 0 ? 1 : finished / total,
    rates: {
      tasks_per_second: rate,
      eta_seconds: b.cancelledAt || left === 0 ? 0 : rate ? left / rate : null,
    },
    created_at: b.createdAt,
    started_at: b.progress.startedAt ?? null,
    finished_at: end ?? null,
    cancelled_at: b.cancelledAt ?? null,
    crawl: b.crawl
      ? {
        ...presentCrawlSpec(b.crawl),
        counters: counters && { discovered: counters.discovered, queued: counters.queued, done: counters.done, depth_reached: counters.depthReached },
      }
      : null,
    links: { self, tasks: `${self}/tasks`, results: `${self}/results`, exports: `${self}/exports` },
  };
}

export function presentExport(e: ExportRecord, blobs: BlobStore) {
  const totals = e.shards.reduce(
    (t, s) => ({ records: t.records + s.records, bytes: t.bytes + s.bytes }),
    { records: 0, bytes: 0 },
  );
  return {
    id: e.id,
    batch_id: e.batchId,
    format: e.options.format,
    status: e.status,
    options: { shard_samples: e.options.shardSamples, shard_bytes: e.options.shardBytes, include_images: e.options.includeImages },
    created_at: e.createdAt,
    finished_at: e.finishedAt ?? null,
    error: e.error ?? null,
    shards: e.shards.map((s) => ({ index: s.index, name: s.key.slice(s.key.lastIndexOf('/') + 1), url: blobs.publicUrl(s.key), records: s.records, bytes: s.bytes, sha256: s.sha256 })),
    manifest: {
      format: e.options.format,
      shard_count: e.shards.length,
      records: totals.records,
      bytes: totals.bytes,
      shards: e.shards.map((s) => ({
        name: s.key.slice(s.key.lastIndexOf('/') + 1), sha256: s.sha256, records: s.records, bytes: s.bytes,
        samples: s.stats.samples, images: s.stats.images, texts: s.stats.texts, image_bytes: s.stats.imageBytes, text_bytes: s.stats.textBytes,
      })),
    },
    links: { self: `/exports/${e.id}`, batch: `/batches/${e.batchId}` },
  };
}
