/**
 * The `crawl_frontier` collection. Two kinds of document, both keyed by a derived `_id` because an insert
 * against the unique `_id` is the one atomic step FerretDB v1 offers (docs/decisions.md):
 * - a URL found by a crawl: `u:<batch>:<sha256 of the URL>`: inserting it is the dedupe;
 * - an admitted page: `p:<batch>:<n>` for n < max_pages: inserting it takes page position n, exactly once.
 */
import { createHash } from 'node:crypto';
import { Schema } from 'mongoose';

export interface FrontierDoc {
  _id: string;
  batchId: string;
  kind: 'url' | 'page';
  url: string;
  depth: number;
  /** Pages only: the admission position. */
  page?: number;
  /** When the document was written: a recheck completes only what a live call would have finished by now. */
  at?: Date;
}

export const frontierSchema = new Schema<FrontierDoc>(
  {
    _id: { type: String, required: true },
    batchId: { type: String, required: true },
    kind: { type: String, enum: ['url', 'page'], required: true },
    url: { type: String, required: true },
    depth: { type: Number, required: true },
    page: Number,
    at: Date,
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);
frontierSchema.index({ batchId: 1, kind: 1, depth: -1 });

export const urlDocId = (batchId: string, url: string): string => `u:${batchId}:${createHash('sha256').update(url).digest('hex').slice(0, 40)}`;
export const pageDocId = (batchId: string, page: number): string => `p:${batchId}:${page}`;
