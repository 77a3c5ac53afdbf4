/** A Composer over any BlobStore: stored parts are read with readMany, and everything is streamed into put(). */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { isStored, type BlobStore, type Composer, type Part, type PutResult } from './blob-store.js';

/** What the stream may hold ahead of the store. */
const STREAM_BYTES = 4 * 1024 * 1024;

export function streamComposer(blobs: BlobStore, key: string): Composer {
  const out = new PassThrough({ highWaterMark: STREAM_BYTES });
  const stored: Promise<PutResult> = blobs.put(key, out);
  // Surfaced by the next add() or by end(), not as an unhandled rejection.
  stored.catch(() => undefined);
  return {
    async add(parts: readonly Part[]): Promise<void> {
      const files = await blobs.readMany(parts.filter(isStored));
      let f = 0;
      for (const part of parts) {
        const bytes = isStored(part) ? (files[f++] as Buffer) : part;
        if (bytes.length > 0) out.write(bytes);
      }
      if (out.writableNeedDrain) await Promise.race([once(out, 'drain'), stored]);
    },
    end(): Promise<PutResult> {
      out.end();
      return stored;
    },
    abort(err: Error): void {
      out.destroy(err);
    },
  };
}
