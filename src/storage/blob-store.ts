import type { Readable } from 'node:stream';

export interface PutResult {
  size: number;
  sha256: string;
}

/** A file and the size it was stored with. */
export interface StoredSize {
  key: string;
  bytes: number;
}

export interface PutOptions {
  /**
   * The key is the content's address (the same key always holds the same bytes) and no reader is sent to
   * it before a put of it resolved. An adapter may then create a new file in place rather than beside it
   * and renamed: a reader still never sees half a file, because any put that resolves leaves the whole
   * file, replacing whatever a write cut short (a crash, a full disk) left under the key.
   */
  contentAddressed?: boolean;
}

/**
 * Files (images) by key. Writes are atomic: a reader never sees half a file, and the next read sees the
 * write (see PutOptions.contentAddressed for the one relaxation).
 */
export interface BlobStore {
  put(key: string, data: Buffer | Readable, options?: PutOptions): Promise<PutResult>;
  /** Null when there is no such file. */
  get(key: string): Promise<Readable | null>;
  exists(key: string): Promise<boolean>;
  /**
   * Several whole files, each of the size its writer recorded (how the exporter reads images). Rejects when
   * one is missing or not that size. Each adapter reads the way its medium is fastest; a caller keeps a call
   * to a few MiB, since an adapter may hold the event loop while it reads.
   */
  readMany(files: readonly StoredSize[]): Promise<Buffer[]>;
  /** Writes a file made of bytes and other stored files (an export shard: tar headers and images). */
  compose(key: string): Composer;
  /** Where a client downloads the file (served by the API itself, by nginx, or by the bucket). */
  publicUrl(key: string): string;
}

/** A piece of a composed file: bytes, or a whole stored file. */
export type Part = Buffer | StoredSize;

export const isStored = (part: Part): part is StoredSize => !Buffer.isBuffer(part);

/** A file being written from parts, in order; nothing is visible under its key before end() resolves. */
export interface Composer {
  /** Resolves once the composer can take more; a caller keeps one call to a few MiB. */
  add(parts: readonly Part[]): Promise<void>;
  /** Resolves with what was written (its size and sha256) once the file is in place. */
  end(): Promise<PutResult>;
  /** Gives up: nothing is left under the key. */
  abort(err: Error): void;
}

export class InvalidKeyError extends Error {}

/** readMany's failure for a file that is gone or not the size it was stored with: the same words from every adapter. */
export function storedFileError(file: StoredSize, read: number | null): Error {
  if (read === null) return new Error(`stored file ${file.key} is missing`);
  return new Error(`stored file ${file.key} is ${read > file.bytes ? 'longer' : 'shorter'} than the ${file.bytes} bytes recorded`);
}

const SAFE_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i;

/** Keys come from our own code, but a bad one must never escape a volume's root or name an odd object. */
export function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.split('/').some((p) => p === '..' || p === '.')) throw new InvalidKeyError(`invalid key: ${key}`);
  return key;
}

/** `base/key`, whatever slashes the configured base ends with. */
export const joinUrl = (base: string, key: string): string => `${base.replace(/\/+$/, '')}/${key}`;
