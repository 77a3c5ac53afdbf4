/** The `tasks` collection: one document per task. */
import { Schema } from 'mongoose';
import type { ImagesTaskOptions, PageInfo, TaskError, TaskKind, TaskStatus, TextFormat } from '../task.js';
import { TASK_STATUSES, TEXT_FORMATS } from '../task.js';

export interface TaskDoc {
  _id: string;
  kind: TaskKind;
  url: string;
  status: TaskStatus;
  refresh: boolean;
  format?: TextFormat;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  error?: TaskError;
  page?: PageInfo;
  /** The API key id that made the task. */
  owner?: string;
  options?: ImagesTaskOptions;
  leaseOwner?: string;
  leaseUntil?: Date;
  dispatchPendingSince?: Date;
  /** Bumped by every update; see revision.ts. */
  rev: number;
  /** The batch write that made this revision, if one did (revision.ts). */
  stamp?: string;
  batchId?: string;
  batchSeq?: number;
  /** Task.hasWebhook; absent on tasks made before it was kept. */
  webhook?: boolean;
}

export const taskSchema = new Schema<TaskDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: ['text', 'images'], required: true },
    url: { type: String, required: true },
    status: { type: String, enum: TASK_STATUSES, required: true },
    refresh: { type: Boolean, required: true },
    format: { type: String, enum: TEXT_FORMATS },
    attempts: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    startedAt: Date,
    finishedAt: Date,
    // Mixed, not sub-schemas: these are domain objects passed through whole, and a field added to
    // TaskError or PageInfo must not be dropped silently by mongoose's strict mode.
    error: Schema.Types.Mixed,
    page: Schema.Types.Mixed,
    owner: String,
    options: Schema.Types.Mixed,
    leaseOwner: String,
    leaseUntil: Date,
    dispatchPendingSince: Date,
    rev: { type: Number, required: true },
    stamp: String,
    batchId: String,
    batchSeq: Number,
    webhook: Boolean,
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);

// listTasks (newest first, optionally by status) and listUnfinished (oldest first).
taskSchema.index({ kind: 1, createdAt: -1, _id: -1 });
taskSchema.index({ kind: 1, status: 1, createdAt: -1, _id: -1 });
taskSchema.index({ status: 1, createdAt: 1, _id: 1 });
// A batch's tasks in submission order, and its progress by status.
taskSchema.index({ batchId: 1, batchSeq: 1 });
taskSchema.index({ batchId: 1, status: 1, batchSeq: 1 });
taskSchema.index({ owner: 1, kind: 1, createdAt: -1, _id: -1 });
// The dispatch sweeper (takeUndispatched).
taskSchema.index({ dispatchPendingSince: 1 });
