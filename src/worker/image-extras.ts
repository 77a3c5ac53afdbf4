/** What an images task adds to a stored file when asked: a resized copy next to the original. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ResizedFile, ResizeOptions, StoredFile } from '../models/task.js';
import { resizedKey, resizedMime, resizeImage } from '../scrape/image-resize.js';
import type { BlobStore } from '../storage/blob-store.js';
import sharp from 'sharp';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Exports carry the sha256 of the file they hold, so the copy's is recorded with it. */
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The resized copy of `file`, made once: its key is derived from the original's sha256 and the options,
 * so a copy already in the store is only measured. `body` is the original when the caller has it.
 * Undefined when the image cannot be decoded (the original is still kept).
 */
export async function ensureResized(file: StoredFile, options: ResizeOptions, blobs: BlobStore, body?: Buffer): Promise<ResizedFile | undefined> {
  const key = resizedKey(file.sha256, options);
  const existing = await blobs.get(key);
  if (existing) {
    const copy = await readAll(existing);
    const meta = await sharp(copy).metadata();
    if (meta.width && meta.height) return { key, mime: resizedMime(options), bytes: copy.length, width: meta.width, height: meta.height, sha256: sha256(copy) };
  }
  const original = body ?? (await blobs.get(file.key).then((s) => (s ? readAll(s) : undefined)));
  if (!original) return undefined;
  const resized = await resizeImage(original, options);
  if (!resized) return undefined;
  const put = await blobs.put(key, resized.body);
  return { key, mime: resized.mime, bytes: resized.body.length, width: resized.width, height: resized.height, sha256: put.sha256 };
}
