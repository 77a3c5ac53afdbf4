/** The `api_keys` and `usage` collections (see ../ops-store.ts). */
import { Schema } from 'mongoose';
import type { Scope } from '../ops-store.js';

export interface ApiKeyDoc {
  _id: string;
  name: string;
  scopes: Scope[];
  /** sha256 (hex) of the plain key. */
  hash: string;
  createdAt: Date;
  revokedAt?: Date;
}

export const apiKeySchema = new Schema<ApiKeyDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    scopes: { type: [String], required: true },
    hash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: Date,
  },
  { versionKey: false, id: false, strict: true },
);
apiKeySchema.index({ hash: 1 }, { unique: true });

/** One process's count of one metric in one minute for one combination of dimensions. */
export interface UsageDoc {
  /** sha256 of (source, minute, metric, dimensions): one writer per document. */
  _id: string;
  minute: number;
  /** The hour and day holding `minute` (epoch ms): FerretDB v1 cannot group on computed values. */
  hour: number;
  day: number;
  metric: string;
  key: string;
  ip: string;
  path: string;
  host: string;
  n: number;
}

export const usageSchema = new Schema<UsageDoc>(
  {
    _id: { type: String, required: true },
    minute: { type: Number, required: true },
    hour: { type: Number, required: true },
    day: { type: Number, required: true },
    metric: { type: String, required: true },
    key: { type: String, default: '' },
    ip: { type: String, default: '' },
    path: { type: String, default: '' },
    host: { type: String, default: '' },
    n: { type: Number, required: true },
  },
  { versionKey: false, id: false, strict: true },
);
usageSchema.index({ minute: 1 });

/** One claimed token-bucket cell; `_id` is `${bucket} ${cell}`, unique, so only one claimer wins. */
export interface RateCellDoc {
  _id: string;
  bucket: string;
  cell: number;
  expiresAt: Date;
}

export const rateCellSchema = new Schema<RateCellDoc>(
  {
    _id: { type: String, required: true },
    bucket: { type: String, required: true },
    cell: { type: Number, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, id: false, strict: true },
);
rateCellSchema.index({ bucket: 1, cell: -1 });
rateCellSchema.index({ expiresAt: 1 });
