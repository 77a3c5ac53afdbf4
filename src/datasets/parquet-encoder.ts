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
/** A field of an object-valued metadata field (`metadata.author`, `rights.verdict`). */
const sub = (s: Sample, field: string, key: string): unknown => (s.meta[field] as Record<string, unknown> | null | undefined)?.[key];
const metaStr = (name: string, field = name) => str(name, (s) => meta(s, field));
const metaInt = (name: string, field = name) => int(name, (s) => meta(s, field));

/** Rights as two columns: the verdict, and the signals as JSON text (a list of {signal, where, value, effect, note}). */
const rightsColumns = (): Column[] => [
  str('rights_verdict', (s) => sub(s, 'rights', 'verdict')),
  str('rights_signals', (s) => { const v = sub(s, 'rights', 'signals'); return v === undefined ? null : JSON.stringify(v); }),
];

/**
 * The columns of each kind, fixed whatever the data (a stable schema: every shard of a kind has these,
 * in this order; nullable where the item may lack the field). `json` holds the whole metadata record.
 */
function columnsFor(kind: Sample['kind'], includeImages: boolean): Column[] {
  if (kind === 'text') {
    const md = (name: string, key = name) => str(name, (s) => sub(s, 'metadata', key));
    return [
      str('key', (s) => s.key), metaStr('url'), metaStr('final_url'), metaStr('title'),
      str('text', (s) => (s.kind === 'text' ? s.text : null)), metaStr('format'),
      metaInt('http_status'), metaStr('content_type'), metaInt('chars'), metaStr('task_id'), metaStr('simhash'),
      md('metadata_title', 'title'), md('description'), md('author'), md('published'), md('canonical_url'), md('site_name'),
      md('license'), md('language'), int('word_count', (s) => sub(s, 'metadata', 'word_count')),
      ...rightsColumns(), str('json', (s) => JSON.stringify(s.meta)),
    ];
  }
  const cols: Column[] = [
    str('key', (s) => s.key), metaStr('source_url'), metaStr('page_url'),
    metaStr('sha256'), metaStr('mime'), metaInt('width'), metaInt('height'), metaInt('bytes'),
    str('ext', (s) => (s.kind === 'images' ? s.ext : null)), metaStr('variant'), metaStr('original_sha256'),
    metaStr('caption'), metaStr('caption_source'), metaStr('alt'), metaStr('title'), metaStr('figcaption'), metaStr('nearby_text'),
    metaStr('phash'), ...rightsColumns(), metaStr('task_id'), metaInt('position'), str('json', (s) => JSON.stringify(s.meta)),
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
