/** A shard's byte stream into the blob store, with backpressure: a write resolves once the store can take more. */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { BlobStore, PutResult } from '../storage/blob-store.js';

/** Small writes (tar headers, metadata) are gathered into chunks of about this size: one write call each, not six a sample. */
const CHUNK_BYTES = 1024 * 1024;

export class ShardSink {
  private readonly out = new PassThrough({ highWaterMark: CHUNK_BYTES });
  private readonly stored: Promise<PutResult>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  bytes = 0;

  constructor(blobs: BlobStore, key: string) {
    this.stored = blobs.put(key, this.out);
    // Surface a failed put at the next write instead of as an unhandled rejection.
    this.stored.catch(() => undefined);
  }

  async write(chunk: Buffer | Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    this.pending.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= CHUNK_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(chunk)) await Promise.race([once(this.out, 'drain'), this.stored]);
  }

  /** Ends the stream; resolves with what the store wrote (its size and sha256). */
  async end(): Promise<PutResult> {
    await this.flush();
    this.out.end();
    return this.stored;
  }

  abort(err: Error): void {
    this.out.destroy(err);
  }
}
