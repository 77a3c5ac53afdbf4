/** A pass-through stream that counts and hashes what flows through it: the PutResult of a streamed write. */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { PutResult } from './blob-store.js';

export interface Meter {
  stream: Transform;
  /** Size and sha256 of everything that passed; call after the stream has ended. */
  result(): PutResult;
}

export function createMeter(): Meter {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ size, sha256: hash.digest('hex') }) };
}

export const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
