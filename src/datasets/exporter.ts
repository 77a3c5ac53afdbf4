/**
 * Builds an export: the batch's samples, kind by kind, less near-duplicates when asked, cut into shards
 * of at most `shardSamples` samples (a shard also closes once it reaches `shardBytes`), each composed by
 * the blob store as exports/<exportId>/<NNNNN>.<ext> (`<kind>-NNNNN` when the batch has both kinds) while
 * the next one fills: a tar names its images' stored files and the store copies them in (docs/datasets.md).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { ExportRecord, ExportShard, ExportStats, ShardStats } from '../models/batch.js';
import type { TaskStore } from '../models/task-store.js';
import type { TaskKind } from '../models/task.js';
import type { BlobStore } from '../storage/blob-store.js';
import { batchRecords } from './batch-records.js';
import { FORMATS, type EncoderOptions, type ShardEncoder } from './formats.js';
import { HammingIndex, isHash64 } from './near-duplicates.js';
import { samplesOf, type ImageSample, type Sample } from './samples.js';
import { ShardSink } from './shard-sink.js';
import { heartbeatEveryMs } from '../models/export-liveness.js';

export interface ExporterDeps {
  store: TaskStore;
  blobs: BlobStore;
  log: Logger;
  /** EXPORT_STALE_MS: the export's heartbeat is renewed often enough for it (export-liveness.ts); none when absent. */
  exportStaleMs?: number;
}

interface OpenShard {
  key: string;
  sink: ShardSink;
  encoder: ShardEncoder;
  stats: ShardStats;
}

/** Image files are read in groups of up to this many files or bytes (the first file of a group may be larger). */
const READ_FILES = 256;
const READ_BYTES = 4 * 1024 * 1024;

/**
 * Pairs each sample with its image bytes (when `wants` says so), in order. Files are read a group at a time
 * with one readMany call, and the next group is read while this one is written: the read-ahead is one group.
 */
async function* withImageBytes(samples: AsyncIterable<Sample>, blobs: BlobStore, wants: (s: Sample) => s is ImageSample): AsyncGenerator<{ sample: Sample; image?: Buffer }> {
  type Group = { samples: Sample[]; files: Promise<Buffer[]> };
  const read = (group: Sample[]): Group => {
    const files = blobs.readMany(group.filter(wants).map((s) => s.file));
    files.catch(() => undefined); // awaited in turn below; this only keeps an early failure from going unhandled
    return { samples: group, files };
  };
  async function* emit(group: Group) {
    const files = await group.files;
    let i = 0;
    for (const sample of group.samples) yield { sample, image: wants(sample) ? files[i++] : undefined };
  }
  let ahead: Group | undefined;
  let next: Sample[] = [];
  let nextBytes = 0;
  for await (const sample of samples) {
    next.push(sample);
    if (wants(sample)) nextBytes += sample.file.bytes;
    if (next.length < READ_FILES && nextBytes < READ_BYTES) continue;
    const group = read(next);
    next = [];
    nextBytes = 0;
    if (ahead) yield* emit(ahead);
    ahead = group;
  }
  const last = next.length > 0 ? read(next) : undefined;
  if (ahead) yield* emit(ahead);
  if (last) yield* emit(last);
}

/**
 * Drops each sample whose hash is within `maxDistance` of a sample already let through (the first of
 * near-duplicates stays: the batch's order decides, so the same batch keeps the same samples).
 */
async function* withoutNearDuplicates(samples: AsyncIterable<Sample>, maxDistance: number | undefined, dropped: (s: Sample) => void): AsyncGenerator<Sample> {
  if (maxDistance === undefined) return yield* samples;
  const index = new HammingIndex(maxDistance);
  for await (const sample of samples) {
    if (!isHash64(sample.hash) || index.keep(sample.hash)) yield sample;
    else dropped(sample);
  }
}

const emptyStats = (): ShardStats => ({ samples: 0, images: 0, texts: 0, imageBytes: 0, textBytes: 0 });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function buildShards(deps: ExporterDeps, exp: ExportRecord, kinds: readonly TaskKind[]): Promise<{ shards: ExportShard[]; stats: ExportStats }> {
  const format = FORMATS[exp.options.format];
  const encoderOptions: EncoderOptions = { publicUrl: (key) => deps.blobs.publicUrl(key), includeImages: exp.options.includeImages };
  const withImages = format.needsImages(encoderOptions);
  const variant = exp.options.images ?? 'original';
  const near = exp.options.nearDuplicates ?? {};
  const stats: ExportStats = { nearDuplicatesDropped: { images: 0, text: 0 }, imagesResized: 0, imagesWithoutResized: 0 };
  const shards: ExportShard[] = [];
  /** An image's bytes are read when the format stores them, or to hash a copy that was listed without its sha256. */
  const wants = (smp: Sample): smp is ImageSample => smp.kind === 'images' && (withImages || !smp.file.sha256);
  /** The shard closed last, while the store finishes writing it: the next one fills meanwhile (one at most). */
  let storing: Promise<void> = Promise.resolve();
  const close = async (s: OpenShard) => {
    await s.encoder.end();
    const stored = s.sink.end().then((put) => {
      shards.push({ index: 0, key: s.key, records: s.stats.samples, bytes: put.size, sha256: put.sha256, stats: s.stats });
    });
    stored.catch(() => undefined); // awaited by the next close or at the end
    await storing;
    storing = stored;
  };
  for (const kind of kinds) {
    /** Open shard and shards made so far, per series. */
    const series = new Map<string, { open?: OpenShard; made: number }>();
    try {
      const samples = samplesOf(batchRecords(deps.store, exp.batchId), kind, { images: variant });
      const kept = withoutNearDuplicates(samples, kind === 'images' ? near.images : near.text, () => stats.nearDuplicatesDropped[kind]++);
      for await (const { sample, image } of withImageBytes(kept, deps.blobs, wants)) {
        if (sample.kind === 'images' && image && !sample.file.sha256) sample.meta.sha256 = sample.file.sha256 = sha256(image);
        if (sample.kind === 'images' && variant === 'resized') {
          if (sample.meta.variant === 'resized') stats.imagesResized++;
          else stats.imagesWithoutResized++;
        }
        const name = format.seriesOf(sample);
        let s = series.get(name);
        if (!s) series.set(name, (s = { made: 0 }));
        if (!s.open) {
          const prefix = [kinds.length > 1 ? kind : '', name].filter(Boolean).join('-');
          const key = `exports/${exp.id}/${prefix ? `${prefix}-` : ''}${String(s.made++).padStart(5, '0')}.${format.ext}`;
          const sink = new ShardSink(deps.blobs, key);
          s.open = { key, sink, encoder: format.open(sink, encoderOptions), stats: emptyStats() };
        }
        const shard = s.open;
        await shard.encoder.add(sample, image);
        count(shard.stats, sample);
        if (shard.stats.samples >= exp.options.shardSamples || shard.sink.bytes >= exp.options.shardBytes) {
          s.open = undefined;
          await close(shard);
        }
      }
      for (const s of series.values()) {
        const shard = s.open;
        s.open = undefined;
        if (shard) await close(shard);
      }
    } catch (err) {
      for (const s of series.values()) s.open?.sink.abort(err as Error);
      throw err;
    }
  }
  await storing;
  // Listed by name, so the listing does not depend on which series filled up first.
  shards.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  shards.forEach((s, i) => (s.index = i));
  return { shards, stats };
}

function count(stats: ShardStats, sample: Sample): void {
  stats.samples++;
  if (sample.kind === 'images') {
    stats.images++;
    stats.imageBytes += sample.file.bytes;
  } else {
    stats.texts++;
    stats.textBytes += Buffer.byteLength(sample.text);
  }
}

/** Runs an export to its end and records the outcome; never rejects. */
export async function runExport(deps: ExporterDeps, exp: ExportRecord, kinds: readonly TaskKind[]): Promise<void> {
  const log = deps.log.child({ exportId: exp.id, batchId: exp.batchId, format: exp.options.format });
  const started = Date.now();
  const heartbeat = deps.exportStaleMs === undefined ? undefined : setInterval(() => {
    deps.store.batches.touchExport(exp.id).then(
      (running) => running || log.warn('export no longer running (found interrupted): its result will not be recorded'),
      (err: unknown) => log.warn({ err }, 'could not renew the export heartbeat'),
    );
  }, heartbeatEveryMs(deps.exportStaleMs));
  heartbeat?.unref();
  try {
    const { shards, stats } = await buildShards(deps, exp, kinds);
    const done = await deps.store.batches.finishExport(exp.id, { status: 'succeeded', shards, stats });
    if (done?.status === 'succeeded') log.info({ shards: shards.length, ...stats, ms: Date.now() - started }, 'export finished');
    else log.warn({ status: done?.status, error: done?.error }, 'export built, but it had been finished meanwhile (found interrupted): not recorded');
  } catch (err) {
    log.error({ err }, 'export failed');
    await deps.store.batches.finishExport(exp.id, { status: 'failed', error: { code: 'export_failed', message: (err as Error).message } })
      .catch((e: unknown) => log.error({ err: e }, 'could not record the export failure'));
  } finally {
    clearInterval(heartbeat);
  }
}
