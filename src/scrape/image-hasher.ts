/**
 * Where perceptual hashes are computed. sharp decodes on the libuv pool, but each call also costs its caller
 * a fixed share of synchronous work (building the pipeline object and reading its ~200 options through
 * N-API): measured as the largest single cost of an image on the main thread, which also serves the API and
 * drives every download. So by default one thread of its own does it, for many images at a time (each mostly
 * waits for libvips); the main thread only posts the bytes. Inline for tests run from TypeScript sources.
 */
import { Piscina } from 'piscina';
import { dhash } from './image-hash.js';
import type { HashJob } from './image-hash-worker.js';

export interface ImageHasher {
  /** The image's dHash; undefined when it cannot be decoded (see dhash). */
  hash(body: Buffer, size?: { width?: number; height?: number }): Promise<string | undefined>;
  close(): Promise<void>;
}

export const inlineHasher: ImageHasher = { hash: dhash, close: async () => {} };

export function threadedHasher(options: { concurrency: number }): ImageHasher {
  const pool = new Piscina<HashJob, string | undefined>({
    filename: new URL('./image-hash-worker.js', import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: options.concurrency,
    idleTimeout: 60_000,
  });
  return {
    hash(body, size) {
      // A copy of exactly the image, transferred: cloning `body` would copy the whole slab it may sit in.
      const copy = new Uint8Array(body);
      return pool.run({ body: copy, width: size?.width, height: size?.height }, { transferList: [copy.buffer] });
    },
    close: () => pool.destroy(),
  };
}
