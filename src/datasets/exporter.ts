/**
 * Builds an export: the batch's samples, kind by kind, cut into shards of at most `shardSamples` samples
 * (a shard also closes once it reaches `shardBytes`), each streamed into the blob store as
 * exports/<exportId>/<NNNNN>.<ext> (`<kind>-NNNNN` when the batch has both kinds).
 */
import type { Logger } from '../logger.js';
import type { ExportRecord, ExportShard, ShardStats } from '../models/batch.js';
import type { TaskStore } from '../models/task-store.js';
import type { TaskKind } from '../models/task.js';
import type { BlobStore } from '../storage/blob-store.js';
import { batchRecords } from './batch-records.js';
import { FORMATS, type EncoderOptions, type ShardEncoder } from './formats.js';
import { samplesOf, type Sample } from './samples.js';
import { ShardSink } from './shard-sink.js';

export interface ExporterDeps {
  store: TaskStore;
  blobs: BlobStore;
  log: Logger;
}

interface OpenShard {
  key: string;
  sink: ShardSink;
  encoder: ShardEncoder;
  stats: ShardStats;
}

async function readAll(blobs: BlobStore, key: string): Promise<Buffer> {
  const stream = await blobs.get(key);
  if (!stream) throw new Error(`stored file ${key} is missing`);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const emptyStats = (): ShardStats => ({ samples: 0, images: 0, texts: 0, imageBytes: 0, textBytes: 0 });

export async function buildShards(deps: ExporterDeps, exp: ExportRecord, kinds: readonly TaskKind[]): Promise<ExportShard[]> {
  const format = FORMATS[exp.options.format];
  const encoderOptions: EncoderOptions = { publicUrl: (key) => deps.blobs.publicUrl(key), includeImages: exp.options.includeImages };
  const withImages = format.needsImages(encoderOptions);
  const shards: ExportShard[] = [];
  const close = async (s: OpenShard) => {
    await s.encoder.end();
    const put = await s.sink.end();
    shards.push({ index: 0, key: s.key, records: s.stats.samples, bytes: put.size, sha256: put.sha256, stats: s.stats });
  };
  for (const kind of kinds) {
    /** Open shard and shards made so far, per series. */
    const series = new Map<string, { open?: OpenShard; made: number }>();
    try {
      for await (const sample of samplesOf(batchRecords(deps.store, exp.batchId), kind)) {
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
        const image = sample.kind === 'images' && withImages ? await readAll(deps.blobs, sample.file.key) : undefined;
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
  // Listed by name, so the listing does not depend on which series filled up first.
  shards.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  shards.forEach((s, i) => (s.index = i));
  return shards;
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
  try {
    const shards = await buildShards(deps, exp, kinds);
    await deps.store.batches.finishExport(exp.id, { status: 'succeeded', shards });
    log.info({ shards: shards.length, ms: Date.now() - started }, 'export finished');
  } catch (err) {
    log.error({ err }, 'export failed');
    await deps.store.batches.finishExport(exp.id, { status: 'failed', error: { code: 'export_failed', message: (err as Error).message } })
      .catch((e: unknown) => log.error({ err: e }, 'could not record the export failure'));
  }
}
