/** Runs in the hashing thread (image-hasher.ts): one image's dHash. */
import { dhash } from './image-hash.js';

export interface HashJob {
  /** The image's bytes, transferred (a copy of exactly them, not a pooled slab). */
  body: Uint8Array;
  width?: number;
  height?: number;
}

export default function hashImage(job: HashJob): Promise<string | undefined> {
  return dhash(Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength), { width: job.width, height: job.height });
}
