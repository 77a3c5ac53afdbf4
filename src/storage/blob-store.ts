import type { Readable } from 'node:stream';

export interface PutResult {
  size: number;
  sha256: string;
}

/** Files (images) by key. Writes are atomic: a reader never sees half a file, and the next read sees the write. */
export interface BlobStore {
  put(key: string, data: Buffer | Readable): Promise<PutResult>;
  /** Null when there is no such file. */
  get(key: string): Promise<Readable | null>;
  exists(key: string): Promise<boolean>;
  /** Where a client downloads the file (served by the API itself, by nginx, or by the bucket). */
  publicUrl(key: string): string;
}

export class InvalidKeyError extends Error {}

const SAFE_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i;

/** Keys come from our own code, but a bad one must never escape a volume's root or name an odd object. */
export function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.split('/').some((p) => p === '..' || p === '.')) throw new InvalidKeyError(`invalid key: ${key}`);
  return key;
}

/** `base/key`, whatever slashes the configured base ends with. */
export const joinUrl = (base: string, key: string): string => `${base.replace(/\/+$/, '')}/${key}`;
