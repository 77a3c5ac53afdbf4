/** GET /batches/:id/results: one NDJSON line per finished task, written with backpressure. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { BatchRecord } from '../datasets/batch-records.js';
import type { BlobStore } from '../storage/blob-store.js';
import { presentImage, presentTask } from './presenters.js';

/** Everything a user needs without another call: the task, its text or its images with file URLs. */
export function presentRecord(r: BatchRecord, blobs: BlobStore) {
  const { links: _links, ...task } = presentTask(r.task);
  return {
    cursor: r.cursor,
    seq: r.task.batchSeq ?? 0,
    ...task,
    ...(r.task.kind === 'text' ? { text: r.text ?? null } : {}),
    ...(r.images ? { images: r.images.map((img) => presentImage(img, blobs)) } : {}),
  };
}

async function* lines(records: AsyncIterable<BatchRecord>, blobs: BlobStore): AsyncGenerator<string> {
  for await (const r of records) yield `${JSON.stringify(presentRecord(r, blobs))}\n`;
}

/** Streams until the records end or the client goes away (then reading stops too). */
export async function streamResults(res: Response, records: AsyncIterable<BatchRecord>, blobs: BlobStore): Promise<void> {
  res.status(200).set({ 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  try {
    await pipeline(Readable.from(lines(records, blobs), { objectMode: false, highWaterMark: 64 * 1024 }), res);
  } catch (err) {
    // A client that hangs up mid-stream is normal; anything else after the headers can only end the stream.
    if (!res.destroyed) res.destroy(err as Error);
  }
}
