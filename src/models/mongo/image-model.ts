/** The `images` collection: one document per image source URL. */
import { createHash } from 'node:crypto';
import { Schema } from 'mongoose';
import type { ImageStatus, StoredFile, TaskError } from '../task.js';

export interface ImageDoc {
  _id: string;
  sourceUrl: string;
  status: ImageStatus;
  ownerTaskId?: string;
  claimedAt?: Date;
  updatedAt: Date;
  file?: StoredFile;
  error?: TaskError;
  /** Bumped by every update; see revision.ts. */
  rev: number;
}

export const imageSchema = new Schema<ImageDoc>(
  {
    _id: { type: String, required: true },
    sourceUrl: { type: String, required: true },
    status: { type: String, enum: ['pending', 'stored', 'failed'], required: true },
    ownerTaskId: String,
    claimedAt: Date,
    updatedAt: { type: Date, required: true },
    file: Schema.Types.Mixed,
    error: Schema.Types.Mixed,
    rev: { type: Number, required: true },
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);

// The dedupe invariant: one image per source URL, whatever its id.
imageSchema.index({ sourceUrl: 1 }, { unique: true });

/**
 * An image's id is derived from its source URL, so a claim finds its image by `_id`: FerretDB v1 (SQLite)
 * answers only `{_id: value}` filters from an index and scans the whole collection for any other filter.
 * 128 bits of SHA-256; the unique index on sourceUrl still guards the invariant.
 */
export function imageIdFor(sourceUrl: string): string {
  return createHash('sha256').update(sourceUrl, 'utf8').digest('hex').slice(0, 32);
}
