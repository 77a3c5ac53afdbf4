import type { Readable } from 'node:stream';

export interface PutResult {
  size: number;
  sha256: string;
}

/** Files (images) by key. Writes are atomic: a reader never sees half a file. */
export interface BlobStore {
  put(key: string, data: Buffer | Readable): Promise<PutResult>;
  /** Null when there is no such file. */
  get(key: string): Promise<Readable | null>;
  exists(key: string): Promise<boolean>;
  /** Where a client downloads the file (served by the API itself or by nginx). */
  publicUrl(key: string): string;
}
