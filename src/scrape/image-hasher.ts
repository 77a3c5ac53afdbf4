/**
 * Where perceptual hashes are computed. sharp decodes on the libuv pool, but each call also costs its caller
 * a fixed share of synchronous work (building the pipeline object and reading its ~200 options through
 * N-API): measured as the largest single cost of an image on the main thread, which also serves the API and
 * drives every download. So by default one thread of its own does it, for many images at a time (each mostly
 * waits for libvips); the main thread only posts the bytes, or hashes a tiny plain PNG itself. Inline for
 * tests run from TypeScript sources.
 */
import { Piscina } from 'piscina';
import { THREAD_HEAP_LIMITS } from '../heap-growth.js';
import { dhash, dhashOfPixels } from './image-hash.js';
import type { HashJob } from './image-hash-worker.js';
import { plainPngPixels } from './png-pixels.js';

/**
 * A plain PNG of at most this many pixels is hashed on the calling thread: decoding it (png-pixels.ts) costs
 * less than posting it to the hashing thread and taking the answer back.
 */
const HASH_HERE_PIXELS = 32 * 32;

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
    resourceLimits: THREAD_HEAP_LIMITS,
  });
  return {
    hash(body, size) {
      const small = size?.width && size.height && size.width * size.height <= HASH_HERE_PIXELS ? plainPngPixels(body, HASH_HERE_PIXELS) : undefined;
      if (small) return Promise.resolve(dhashOfPixels(small.data, small.width, small.height, small.channels));
      // A copy of exactly the image, transferred: cloning `body` would copy the whole slab it may sit in.
      const copy = new Uint8Array(body);
      return pool.run({ body: copy, width: size?.width, height: size?.height }, { transferList: [copy.buffer] });
    },
    close: () => pool.destroy(),
  };
}
