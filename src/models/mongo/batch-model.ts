/** The `batches` and `exports` collections. */
import { Schema } from 'mongoose';
import type { ExportOptions, ExportShard, ExportStats, ExportStatus } from '../batch.js';
import type { CrawlSpec } from '../crawl.js';
import type { TaskKind } from '../task.js';

export interface BatchDoc {
  _id: string;
  kinds: TaskKind[];
  refresh: boolean;
  urlCount: number;
  taskCount: number;
  createdAt: Date;
  cancelledAt?: Date;
  /** A crawl's spec; its urlCount and taskCount are counted from its tasks when read. */
  crawl?: CrawlSpec;
  owner?: string;
}

export const batchSchema = new Schema<BatchDoc>(
  {
    _id: { type: String, required: true },
    kinds: { type: [String], required: true },
    refresh: { type: Boolean, required: true },
    urlCount: { type: Number, required: true },
    taskCount: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    cancelledAt: Date,
    crawl: Schema.Types.Mixed,
    owner: String,
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);
batchSchema.index({ createdAt: -1, _id: -1 });
batchSchema.index({ owner: 1, createdAt: -1, _id: -1 });

export interface ExportDoc {
  _id: string;
  batchId: string;
  options: ExportOptions;
  status: ExportStatus;
  createdAt: Date;
  finishedAt?: Date;
  /** ExportRecord.heartbeatAt. */
  heartbeatAt?: Date;
  shards: ExportShard[];
  stats?: ExportStats;
  error?: { code: string; message: string };
}

export const exportSchema = new Schema<ExportDoc>(
  {
    _id: { type: String, required: true },
    batchId: { type: String, required: true },
    options: { type: Schema.Types.Mixed, required: true },
    status: { type: String, enum: ['running', 'succeeded', 'failed'], required: true },
    createdAt: { type: Date, required: true },
    finishedAt: Date,
    heartbeatAt: Date,
    shards: { type: Schema.Types.Mixed, required: true },
    stats: Schema.Types.Mixed,
    error: Schema.Types.Mixed,
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);
