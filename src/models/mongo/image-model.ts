/** The `images` collection: one document per image source URL. */
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
  /** The batch write that made this revision, if one did (revision.ts). */
  stamp?: string;
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
    stamp: String,
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);

// The dedupe invariant: one image per source URL, whatever its id (imageIdFor in task-rules.ts derives it from the URL).
imageSchema.index({ sourceUrl: 1 }, { unique: true });
