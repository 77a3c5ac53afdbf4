/** A shard's byte stream into the blob store, with backpressure: a write resolves once the store can take more. */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { BlobStore, PutResult } from '../storage/blob-store.js';

export class ShardSink {
  private readonly out = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly stored: Promise<PutResult>;
  bytes = 0;

  constructor(blobs: BlobStore, key: string) {
    this.stored = blobs.put(key, this.out);
    // Surface a failed put at the next write instead of as an unhandled rejection.
    this.stored.catch(() => undefined);
  }

  async write(chunk: Buffer | Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    if (!this.out.write(chunk)) await Promise.race([once(this.out, 'drain'), this.stored]);
  }

  /** Ends the stream; resolves with what the store wrote (its size and sha256). */
  async end(): Promise<PutResult> {
    this.out.end();
    return this.stored;
  }

  abort(err: Error): void {
    this.out.destroy(err);
  }
}
