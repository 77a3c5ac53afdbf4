/**
 * Reading a response body under a byte limit that holds on the wire and after decompression, so neither a
 * huge download nor a compression bomb can exhaust memory.
 */
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import { ScrapeError } from './scrape-error.js';

function tooLarge(maxBytes: number): ScrapeError {
  return new ScrapeError('too_large', `response is larger than the ${maxBytes} byte limit`);
}

export async function readBody(body: Readable, headers: Record<string, string>, maxBytes: number, signal: AbortSignal, truncate: boolean): Promise<Buffer> {
  const announced = Number(headers['content-length']);
  if (!truncate && Number.isFinite(announced) && announced > maxBytes) {
    abandon(body);
    throw tooLarge(maxBytes);
  }
  const codings = contentCodings(headers['content-encoding']);
  if (!codings.length) return readPlain(body, maxBytes, truncate);
  // Compressed bytes are limited too: a deflate stream of empty blocks is endless input with no output.
  const wire = countBytes(body, maxBytes)[Symbol.asyncIterator]();
  const collector = new Collector(maxBytes, truncate);
  try {
    const first = await wire.next();
    if (first.done) return Buffer.alloc(0);
    const source = Readable.from(prepend(first.value, wire), { objectMode: false });
    await pipeline([source, ...decoders(codings, first.value), collector], { signal });
    return Buffer.concat(collector.chunks, collector.total);
  } catch (err) {
    if (truncate && err instanceof ScrapeError && err.code === 'too_large') return Buffer.concat(collector.chunks, collector.total);
    throw err;
  } finally {
    abandon(body);
  }
}

/**
 * An uncompressed body (most images, many pages): its chunks straight into the collector, under the limit.
 * No pipeline, so no per-response AbortController, stream wrappers or async generators; the caller's
 * deadline still holds, as the body is undici's, which the request's signal destroys.
 */
async function readPlain(body: Readable, maxBytes: number, truncate: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = maxBytes - total;
      if (chunk.length > room) {
        if (!truncate) throw tooLarge(maxBytes);
        if (room > 0) chunks.push(chunk.subarray(0, room));
        return Buffer.concat(chunks, maxBytes);
      }
      chunks.push(chunk);
      total += chunk.length;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    abandon(body);
  }
}

/** The response's content codings, the last applied first (so they are undone in this order). */
function contentCodings(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity')
    .reverse();
}

/**
 * Reads and drops a small body in the background, so the connection can be reused; a large or slow one is
 * cut off (at 64 KiB, or at the deadline) rather than delaying the caller.
 */
export function discard(body: Dispatcher.ResponseData['body'], timeoutMs: number): void {
  body.dump({ limit: 64 * 1024, signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
}

/** Destroying an unfinished undici body emits an abort error; nobody else is listening for it. */
function abandon(body: Readable): void {
  if (body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}

async function* countBytes(body: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    yield chunk;
  }
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* { [Symbol.asyncIterator]: () => rest };
}

/**
 * zlib streams in a pipeline, so decompression runs under backpressure and a bomb stops at the limit
 * instead of inflating into memory. Content codings apply in order, so they are undone in reverse.
 */
function decoders(codings: string[], firstChunk: Buffer): Transform[] {
  const out: Transform[] = [];
  // Servers get compression slightly wrong often enough that ending early must not lose what was decoded.
  const lenient = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  for (const [i, coding] of codings.entries()) {
    if (coding === 'gzip' || coding === 'x-gzip') out.push(zlib.createGunzip(lenient));
    else if (coding === 'br') out.push(zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }));
    else if (coding === 'deflate') {
      // "deflate" should be zlib-wrapped, but some servers send raw deflate; the first byte tells which.
      const zlibWrapped = i > 0 || (firstChunk.length > 0 && ((firstChunk[0] ?? 0) & 0x0f) === 0x08);
      out.push(zlibWrapped ? zlib.createInflate(lenient) : zlib.createInflateRaw(lenient));
    }
    // identity, and codings we never asked for, pass through: the body's consumer judges the bytes.
  }
  return out;
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  total = 0;

  /** `truncate`: keep what fits before failing, for a caller that takes the start of a long body. */
  constructor(
    private readonly maxBytes: number,
    private readonly truncate: boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const room = this.maxBytes - this.total;
    if (chunk.length > room) {
      if (this.truncate && room > 0) {
        this.chunks.push(chunk.subarray(0, room));
        this.total += room;
      }
      return callback(tooLarge(this.maxBytes));
    }
    this.total += chunk.length;
    this.chunks.push(chunk);
    callback();
  }
}
