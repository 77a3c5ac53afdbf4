/** API keys and usage counters on MongoDB, keeping to what FerretDB v1 does correctly (see mongo-task-store.ts). */
import { createHash } from 'node:crypto';
import type { Model } from 'mongoose';
import { newIdWithTime } from '../ids.js';
import {
  type ApiKey, type ApiKeyStore, type RateCellStore, type Scope, type UsageQuery, type UsageRow, type UsageStore, type UsageTotal, bucketOf,
} from '../ops-store.js';
import type { ApiKeyDoc, RateCellDoc, UsageDoc } from './ops-models.js';
import { isDuplicateKey } from './write-errors.js';

function toKey(d: ApiKeyDoc): ApiKey {
  const key: ApiKey = { id: d._id, name: d.name, scopes: [...d.scopes], createdAt: new Date(d.createdAt).toISOString() };
  if (d.revokedAt) key.revokedAt = new Date(d.revokedAt).toISOString();
  return key;
}

export class MongoApiKeyStore implements ApiKeyStore {
  constructor(private readonly keys: Model<ApiKeyDoc>) {}

  async createKey(input: { name: string; scopes: Scope[]; hash: string }): Promise<ApiKey> {
    const { id, ms } = newIdWithTime();
    const doc: ApiKeyDoc = { _id: id, name: input.name, scopes: input.scopes, hash: input.hash, createdAt: new Date(ms) };
    await this.keys.create(doc);
    return toKey(doc);
  }

  async findKeyByHash(hash: string): Promise<ApiKey | null> {
    const doc = await this.keys.findOne({ hash }).lean<ApiKeyDoc>().exec();
    return doc ? toKey(doc) : null;
  }

  async listKeys(): Promise<ApiKey[]> {
    return (await this.keys.find().sort({ createdAt: 1, _id: 1 }).lean<ApiKeyDoc[]>().exec()).map(toKey);
  }

  async revokeKey(id: string): Promise<boolean> {
    // Two revokers racing both set a time; either is right, so no revision ticket is needed.
    const doc = await this.keys.findById(id).lean<ApiKeyDoc>().exec();
    if (!doc) return false;
    if (!doc.revokedAt) await this.keys.updateOne({ _id: id }, { $set: { revokedAt: new Date() } }).exec();
    return true;
  }
}

export class MongoUsageStore implements UsageStore {
  constructor(private readonly usage: Model<UsageDoc>) {}

  async addUsage(source: string, rows: UsageRow[]): Promise<void> {
    if (!rows.length) return;
    await this.usage.bulkWrite(rows.map((r) => {
      const _id = createHash('sha256').update(JSON.stringify([source, r.minute, r.metric, r.key, r.ip, r.path, r.host])).digest('hex');
      return {
        updateOne: {
          filter: { _id },
          update: {
            $setOnInsert: { minute: r.minute, hour: bucketOf(r.minute, 'hour'), day: bucketOf(r.minute, 'day'), metric: r.metric, key: r.key, ip: r.ip, path: r.path, host: r.host },
            $inc: { n: r.n },
          },
          upsert: true,
        },
      };
    }), { ordered: true });
  }

  async queryUsage(q: UsageQuery): Promise<UsageTotal[]> {
    const rows = await this.usage.aggregate<{ _id: { b: number; g?: string; m: string }; n: number }>([
      { $match: { minute: { $gte: q.from, $lt: q.to }, ...(q.key !== undefined ? { key: q.key } : {}) } },
      { $group: { _id: { b: `$${q.interval}`, ...(q.groupBy ? { g: `$${q.groupBy}` } : {}), m: '$metric' }, n: { $sum: '$n' } } },
    ]).exec();
    return rows
      .map((r) => ({ bucket: r._id.b, group: r._id.g ?? '', metric: r._id.m, n: r.n }))
      .sort((a, b) => a.bucket - b.bucket || cmp(a.group, b.group) || cmp(a.metric, b.metric));
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class MongoRateCellStore implements RateCellStore {
  constructor(private readonly cells: Model<RateCellDoc>) {}

  async claim(bucket: string, cell: number, expiresAt: number): Promise<boolean> {
    try {
      await this.cells.collection.insertOne({ _id: `${bucket} ${cell}`, bucket, cell, expiresAt: new Date(expiresAt) } as never);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async highest(bucket: string, from: number): Promise<number | null> {
    const doc = await this.cells.find({ bucket, cell: { $gte: from } }).sort({ cell: -1 }).limit(1).lean<RateCellDoc[]>().exec();
    return doc[0]?.cell ?? null;
  }

  async sweep(now: number): Promise<void> {
    await this.cells.deleteMany({ expiresAt: { $lt: new Date(now) } }).exec();
  }
}
