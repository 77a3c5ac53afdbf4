/**
 * A shard's bytes into the blob store, with backpressure: bytes and whole stored files (an image in a tar)
 * are gathered into groups of a few MiB, each handed to the store's composer at once (a tar sample is five
 * parts: one call each would cost more than the copying), and a write resolves once the store can take more.
 */
import type { BlobStore, Composer, Part, PutResult, StoredSize } from '../storage/blob-store.js';

const GROUP_BYTES = 4 * 1024 * 1024;
const GROUP_FILES = 256;

export class ShardSink {
  private readonly composer: Composer;
  private group: Part[] = [];
  private groupBytes = 0;
  private groupFiles = 0;
  bytes = 0;

  constructor(blobs: BlobStore, key: string) {
    this.composer = blobs.compose(key);
  }

  /** Bytes, or a stored file copied in whole (it must be the size recorded). */
  async write(part: Buffer | Uint8Array | StoredSize): Promise<void> {
    const stored = !(part instanceof Uint8Array);
    const size = stored ? part.bytes : part.length;
    if (size === 0) return;
    this.bytes += size;
    this.group.push(stored ? part : Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.length));
    this.groupBytes += size;
    if (stored) this.groupFiles++;
    if (this.groupBytes >= GROUP_BYTES || this.groupFiles >= GROUP_FILES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.group.length === 0) return;
    const group = this.group;
    this.group = [];
    this.groupBytes = 0;
    this.groupFiles = 0;
    await this.composer.add(group);
  }

  /** Ends the shard; resolves with what the store wrote (its size and sha256). */
  async end(): Promise<PutResult> {
    await this.flush();
    return this.composer.end();
  }

  abort(err: Error): void {
    this.composer.abort(err);
  }
}
