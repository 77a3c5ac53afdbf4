/**
 * Parquet shards with hyparquet-writer: rows are gathered into row groups (ROWS_PER_GROUP, or fewer when
 * image bytes add up) and each group is written to the sink as soon as it is encoded, so a shard is never
 * held whole. One row per sample; a shard holds one kind, so its columns are uniform.
 */
import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { ColumnSource } from 'hyparquet-writer';
import type { ShardEncoder } from './formats.js';
import type { Sample } from './samples.js';
import type { ShardSink } from './shard-sink.js';

const ROWS_PER_GROUP = 1000;
const GROUP_IMAGE_BYTES = 64 * 1024 * 1024;
/** Fixed, so the same rows give the same file whatever the library's version string. */
const CREATED_BY = 'scrapeds';

type BasicType = NonNullable<ColumnSource['type']>;
type Column = { name: string; type: BasicType; get: (s: Sample, image?: Buffer) => unknown };

const str = (name: string, get: (s: Sample) => unknown): Column => ({ name, type: 'STRING', get: (s) => { const v = get(s); return v === null || v === undefined ? null : String(v); } });
const int = (name: string, get: (s: Sample) => unknown): Column => ({ name, type: 'INT32', get: (s) => { const v = get(s); return typeof v === 'number' ? v : null; } });
const meta = (s: Sample, field: string): unknown => s.meta[field];

function columnsFor(kind: Sample['kind'], includeImages: boolean): Column[] {
  if (kind === 'text') {
    return [
      str('key', (s) => s.key), str('url', (s) => meta(s, 'url')), str('final_url', (s) => meta(s, 'final_url')),
      str('title', (s) => meta(s, 'title')), str('text', (s) => (s.kind === 'text' ? s.text : null)),
      int('http_status', (s) => meta(s, 'http_status')), str('content_type', (s) => meta(s, 'content_type')),
      str('task_id', (s) => meta(s, 'task_id')), str('json', (s) => JSON.stringify(s.meta)),
    ];
  }
  const cols: Column[] = [
    str('key', (s) => s.key), str('source_url', (s) => meta(s, 'source_url')), str('page_url', (s) => meta(s, 'page_url')),
    str('sha256', (s) => meta(s, 'sha256')), str('mime', (s) => meta(s, 'mime')), int('width', (s) => meta(s, 'width')),
    int('height', (s) => meta(s, 'height')), int('bytes', (s) => meta(s, 'bytes')), str('ext', (s) => (s.kind === 'images' ? s.ext : null)),
    str('caption', (s) => (s.kind === 'images' ? s.caption : null)), str('task_id', (s) => meta(s, 'task_id')),
    int('position', (s) => meta(s, 'position')), str('json', (s) => JSON.stringify(s.meta)),
  ];
  if (includeImages) cols.push({ name: 'image', type: 'BYTE_ARRAY', get: (_s, image) => (image ? new Uint8Array(image.buffer, image.byteOffset, image.length) : null) });
  return cols;
}

/** A ByteWriter that hands its bytes to the sink after each row group instead of keeping them. */
class SinkWriter extends ByteWriter {
  constructor(private readonly sink: ShardSink) {
    super(1024 * 1024);
  }

  private drainBuffer(): Promise<void> {
    // Copied: the buffer is reused for the next group.
    const chunk = Buffer.from(new Uint8Array(this.buffer, 0, this.index));
    this.index = 0;
    return this.sink.write(chunk);
  }

  flush(): Promise<void> {
    return this.drainBuffer();
  }

  override finish(): Promise<void> {
    return this.drainBuffer();
  }
}

export class ParquetEncoder implements ShardEncoder {
  private columns?: Column[];
  private writer?: ParquetWriter;
  private rows: unknown[][] = [];
  private groupImageBytes = 0;

  constructor(private readonly sink: ShardSink, private readonly includeImages: boolean) {}

  async add(sample: Sample, image?: Buffer): Promise<void> {
    this.columns ??= columnsFor(sample.kind, this.includeImages);
    const columns = this.columns;
    if (this.rows.length === 0) this.rows = columns.map(() => []);
    columns.forEach((c, i) => this.rows[i]?.push(c.get(sample, image)));
    this.groupImageBytes += image?.length ?? 0;
    if ((this.rows[0]?.length ?? 0) >= ROWS_PER_GROUP || this.groupImageBytes >= GROUP_IMAGE_BYTES) await this.writeGroup();
  }

  private async writeGroup(): Promise<void> {
    const columns = this.columns;
    const count = this.rows[0]?.length ?? 0;
    if (!columns || count === 0) return;
    const columnData: ColumnSource[] = columns.map((c, i) => ({ name: c.name, type: c.type, data: this.rows[i] as unknown[], nullable: true }));
    this.writer ??= new ParquetWriter({ writer: new SinkWriter(this.sink), schema: schemaFromColumnData({ columnData }), createdBy: CREATED_BY });
    this.rows = [];
    this.groupImageBytes = 0;
    await this.writer.write({ columnData, rowGroupSize: count });
  }

  async end(): Promise<void> {
    await this.writeGroup();
    await this.writer?.finish();
  }
}
