/**
 * Shard encoders, one per export format. Each writes samples to a sink as it gets them (nothing holds a
 * whole shard) and writes the same bytes for the same samples.
 *  - webdataset: a tar of {key}.{ext} + {key}.json + {key}.txt (the caption, empty when none) per image,
 *    {key}.txt + {key}.json per text;
 *  - jsonl: gzipped JSON lines;
 *  - parquet: see parquet-encoder.ts.
 */
import zlib from 'node:zlib';
import type { ExportFormat } from '../models/batch.js';
import { ParquetEncoder } from './parquet-encoder.js';
import type { Sample } from './samples.js';
import type { StoredSize } from '../storage/blob-store.js';
import type { ShardSink } from './shard-sink.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';

export interface ShardEncoder {
  /** `image` holds the file's bytes when the format needs them (needsImages); else a tar copies the stored file. */
  add(sample: Sample, image?: Buffer): Promise<void>;
  /** Writes what closes the shard (not the sink itself). */
  end(): Promise<void>;
}

export interface EncoderOptions {
  /** Where a client downloads an image file (JSONL records link to files rather than embed them). */
  publicUrl: (key: string) => string;
  /** Parquet only. */
  includeImages: boolean;
}

export interface ShardFormat {
  ext: string;
  /**
   * Samples of different series go to different shard series. WebDataset names an image member by its
   * type, and readers (HuggingFace's webdataset builder) want the same members in every sample, so each
   * image type gets its own series; the other formats keep the type in a column.
   */
  seriesOf(sample: Sample): string;
  /** Does add() need the image bytes? */
  needsImages(options: EncoderOptions): boolean;
  open(sink: ShardSink, options: EncoderOptions): ShardEncoder;
}

const jsonBytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

class TarEncoder implements ShardEncoder {
  constructor(private readonly sink: ShardSink) {}

  /** A stored file as body is copied in by the store, never read here. */
  private async entry(name: string, body: Buffer | StoredSize): Promise<void> {
    const size = Buffer.isBuffer(body) ? body.length : body.bytes;
    await this.sink.write(tarHeader(name, size));
    await this.sink.write(body);
    await this.sink.write(tarPadding(size));
  }

  async add(sample: Sample, image?: Buffer): Promise<void> {
    if (sample.kind === 'text') {
      await this.entry(`${sample.key}.json`, jsonBytes(sample.meta));
      await this.entry(`${sample.key}.txt`, Buffer.from(sample.text, 'utf8'));
      return;
    }
    await this.entry(`${sample.key}.${sample.ext}`, image ?? sample.file);
    await this.entry(`${sample.key}.json`, jsonBytes(sample.meta));
    // Written even when empty: HuggingFace's webdataset builder wants the same members in every sample.
    await this.entry(`${sample.key}.txt`, Buffer.from(sample.caption ?? '', 'utf8'));
  }

  async end(): Promise<void> {
    await this.sink.write(TAR_END);
  }
}

class JsonlEncoder implements ShardEncoder {
  private readonly gzip = zlib.createGzip({ level: 6 });
  private readonly pumped: Promise<void>;

  constructor(sink: ShardSink, private readonly options: EncoderOptions) {
    this.pumped = (async () => {
      for await (const chunk of this.gzip) await sink.write(chunk as Buffer);
    })();
    this.pumped.catch(() => undefined);
  }

  async add(sample: Sample): Promise<void> {
    const record = sample.kind === 'text'
      ? { ...sample.meta, text: sample.text }
      : { ...sample.meta, url: this.options.publicUrl(sample.file.key) };
    if (!this.gzip.write(`${JSON.stringify(record)}\n`)) {
      await Promise.race([new Promise((resolve) => this.gzip.once('drain', resolve)), this.pumped]);
    }
  }

  async end(): Promise<void> {
    this.gzip.end();
    await this.pumped;
  }
}

export const FORMATS: Record<ExportFormat, ShardFormat> = {
  webdataset: { ext: 'tar', seriesOf: (s) => (s.kind === 'images' ? s.ext : ''), needsImages: () => false, open: (sink) => new TarEncoder(sink) },
  jsonl: { ext: 'jsonl.gz', seriesOf: () => '', needsImages: () => false, open: (sink, options) => new JsonlEncoder(sink, options) },
  parquet: { ext: 'parquet', seriesOf: () => '', needsImages: (o) => o.includeImages, open: (sink, options) => new ParquetEncoder(sink, options.includeImages) },
};
