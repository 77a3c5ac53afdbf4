/**
 * TaskStore on MongoDB through mongoose, for the cluster mode. It keeps to what FerretDB v1 (the test
 * server) does correctly: plain CRUD, `$set`/`$unset`/`$setOnInsert`, upserts and unique indexes; no
 * transactions, no projection in findOneAndUpdate, no TTL or partial indexes, no change streams, no $lookup.
 * Updates that must be exclusive (task transitions, image claims) go through revision tickets (revision.ts),
 * because FerretDB v1 does not apply a conditional update atomically.
 * Timestamps are Dates in the database (so range filters compare instants) and ISO strings at the port.
 */
import mongoose from 'mongoose';
import type { Connection, ConnectOptions } from 'mongoose';
import {
  decodePositionCursor, decodeTaskCursor, encodePositionCursor, encodeTaskCursor, newIdWithTime,
} from '../ids.js';
import type {
  ClaimResult, ImageCounts, ImageOutcome, ImageRecord, NewTask, Page, PageInfo, Task, TaskError, TaskImage, TaskKind,
} from '../task.js';
import type { ClaimOptions, ImageCompletion, ImageLink, ListTasksQuery, TaskStore } from '../task-store.js';
import { MongoBatchStore } from './mongo-batch-store.js';
import { MongoWebhookStore } from './mongo-webhook-store.js';
import { imageIdFor, type ImageDoc } from './image-model.js';
import {
  decideDispatched, decideRelease, decideRenew, decideStart, decideSweep, mayFinish,
  type LeaseRequest, type StartOptions, type StartRefusal, type TaskPatch,
} from '../task-lease-rules.js';
import { addCount, emptyCounts, taskChange, toImage, toTask, toTaskImage } from './mapping.js';
import { bindModels, ensureIndexes, type Models } from './models.js';
import type { ApiKeyStore, RateCellStore, UsageStore } from '../ops-store.js';
import { MongoApiKeyStore, MongoRateCellStore, MongoUsageStore } from './mongo-ops-store.js';
import { MongoFeedStore } from './mongo-feed-store.js';
import { MongoFrontierStore } from './mongo-frontier-store.js';
import { isDuplicateKey, Revisions, type Change } from './revision.js';
import { taskImageId, type TaskImageDoc } from './task-image-model.js';
import type { TaskDoc } from './task-model.js';

const MAX_LIST_LIMIT = 1000;
const UNFINISHED = ['queued', 'running'] as const;

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new RangeError(`limit must be an integer in 1..${MAX_LIST_LIMIT}, got ${limit}`);
  }
}

const isUnfinished = (t: TaskDoc): boolean => t.status === 'queued' || t.status === 'running';

/**
 * Runs an upsert; a concurrent upsert of the same key can fail with a duplicate key error (MongoDB and
 * FerretDB both insert on a miss), after which the document exists and the same update matches it.
 */
async function upsert(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await run();
  }
}

export class MongoTaskStore implements TaskStore {
  private readonly revisions: Revisions;
  private closed = false;
  readonly batches: MongoBatchStore;
  readonly webhooks: MongoWebhookStore;
  readonly frontier: MongoFrontierStore;
  readonly feed: MongoFeedStore;
  readonly keys: ApiKeyStore;
  readonly usage: UsageStore;
  readonly rateCells: RateCellStore;

  constructor(private readonly conn: Connection, private readonly m: Models) {
    this.revisions = new Revisions(m.tickets);
    this.webhooks = new MongoWebhookStore(m, this.revisions);
    this.batches = new MongoBatchStore(m, this.revisions, (docs) => this.withCountsMany(docs));
    this.frontier = new MongoFrontierStore(m);
    this.feed = new MongoFeedStore(m, this.revisions);
    this.keys = new MongoApiKeyStore(m.apiKeys);
    this.usage = new MongoUsageStore(m.usage);
    this.rateCells = new MongoRateCellStore(m.rateCells);
  }

  async createTask(input: NewTask): Promise<Task> {
    const { id, ms } = newIdWithTime();
    const at = new Date(ms);
    const doc: TaskDoc = {
      _id: id, kind: input.kind, url: input.url, status: 'queued', refresh: input.refresh, attempts: 0,
      createdAt: at, updatedAt: at, dispatchPendingSince: at, rev: 0,
    };
    if (input.format) doc.format = input.format;
    if (input.owner !== undefined) doc.owner = input.owner;
    if (input.options) doc.options = input.options;
    await this.m.tasks.create(doc);
    return toTask(doc);
  }

  async getTask(id: string): Promise<Task | null> {
    const doc = await this.m.tasks.findById(id).lean<TaskDoc>().exec();
    return doc ? this.withCounts(doc) : null;
  }

  async listTasks(query: ListTasksQuery): Promise<Page<Task>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const filter: Record<string, unknown> = { kind: query.kind };
    if (query.status) filter.status = query.status;
    if (query.owner !== undefined) filter.owner = query.owner;
    if (after) {
      const createdAt = new Date(after.createdAt);
      filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: after.id } }];
    }
    const docs = await this.m.tasks.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit + 1)
      .lean<TaskDoc[]>().exec();
    const more = docs.length > query.limit;
    const pageDocs = more ? docs.slice(0, query.limit) : docs;
    const items = await this.withCountsMany(pageDocs);
    const last = items[items.length - 1];
    return more && last ? { items, nextCursor: encodeTaskCursor(last.createdAt, last.id) } : { items };
  }

  async listUnfinished(kind?: TaskKind): Promise<Task[]> {
    const filter: Record<string, unknown> = { status: { $in: UNFINISHED } };
    if (kind) filter.kind = kind;
    const docs = await this.m.tasks.find(filter).sort({ createdAt: 1, _id: 1 }).lean<TaskDoc[]>().exec();
    return this.withCountsMany(docs);
  }

  async startTask(id: string, lease?: StartOptions): Promise<Task | null> {
    let refusal: StartRefusal | undefined;
    const res = await this.revisions.update('tasks', this.m.tasks, id, (t) => {
      const decision = decideStart(toTask(t), Date.now(), lease);
      refusal = typeof decision === 'string' ? decision : undefined;
      return typeof decision === 'string' ? null : taskChange(decision);
    });
    if (!res || refusal === 'final') return null;
    return this.withCounts(res.doc);
  }

  async renewLease(id: string, lease: LeaseRequest): Promise<boolean> {
    return this.decideAndPatch(id, (task) => decideRenew(task, Date.now(), lease));
  }

  async releaseTask(id: string, owner: string, error: TaskError): Promise<boolean> {
    return this.decideAndPatch(id, (task) => decideRelease(task, Date.now(), owner, error));
  }

  async markDispatched(id: string): Promise<void> {
    await this.decideAndPatch(id, (task) => decideDispatched(task, Date.now()));
  }

  async takeUndispatched(query: { olderThanMs: number; limit: number }): Promise<Task[]> {
    const before = new Date(Date.now() - query.olderThanMs);
    const candidates = await this.m.tasks.find({ dispatchPendingSince: { $lte: before }, status: 'queued' })
      .sort({ dispatchPendingSince: 1 }).limit(query.limit).lean<TaskDoc[]>().exec();
    const taken: TaskDoc[] = [];
    for (const candidate of candidates) {
      const seen = toTask(candidate).dispatchPendingSince;
      // Through a revision ticket: of several sweepers seeing this task, one moves its clock, the others see it moved.
      const res = await this.revisions.update('tasks', this.m.tasks, candidate._id, (t) => {
        const patch = decideSweep(toTask(t), Date.now(), query.olderThanMs, seen);
        return patch && taskChange(patch);
      });
      if (res?.changed) taken.push(res.doc);
    }
    return this.withCountsMany(taken);
  }

  private async decideAndPatch(id: string, decide: (task: Task) => TaskPatch | null): Promise<boolean> {
    const res = await this.revisions.update('tasks', this.m.tasks, id, (t) => {
      const patch = decide(toTask(t));
      return patch && taskChange(patch);
    });
    return res?.changed ?? false;
  }

  async saveText(id: string, text: string): Promise<void> {
    if (!(await this.m.tasks.exists({ _id: id }).exec())) throw new Error(`unknown task ${id}`);
    await upsert(() => this.m.texts.updateOne({ _id: id }, { $set: { utf8: Buffer.from(text, 'utf8') }, $unset: { text: 1 } }, { upsert: true }).exec());
  }

  async getText(id: string): Promise<string | null> {
    const doc = await this.m.texts.findById(id).lean().exec();
    if (!doc) return null;
    // Both a Buffer and the driver's `Binary` (what `lean()` gives for BSON binary) decode with toString('utf8').
    return doc.utf8 ? doc.utf8.toString('utf8') : (doc.text ?? '');
  }

  async finishTask(
    id: string,
    result: { status: 'succeeded' | 'failed'; page?: PageInfo; error?: TaskError },
    owner?: string,
  ): Promise<Task | null> {
    const res = await this.revisions.update('tasks', this.m.tasks, id, (t) => {
      if (!isUnfinished(t) || !mayFinish(toTask(t), owner)) return null;
      const now = new Date();
      const change: Change = { set: { status: result.status, finishedAt: now, updatedAt: now }, unset: ['leaseOwner', 'leaseUntil', 'dispatchPendingSince'] };
      if (result.page) change.set.page = result.page;
      if (result.error) change.set.error = result.error;
      else (change.unset as string[]).push('error');
      return change;
    });
    return res ? this.withCounts(res.doc) : null;
  }

  async claimImage(sourceUrl: string, options: ClaimOptions): Promise<ClaimResult> {
    const id = imageIdFor(sourceUrl);
    const owner = options.taskId;
    const now = new Date();
    const fresh: ImageDoc = {
      _id: id, sourceUrl, status: 'pending', ownerTaskId: owner, claimedAt: now, updatedAt: now, rev: 0,
    };
    try {
      // An upsert by _id: inserts (the unique indexes keep it to one) or matches and changes nothing.
      const { _id: _, ...onInsert } = fresh;
      const res = await this.m.images.updateOne({ _id: id }, { $setOnInsert: onInsert }, { upsert: true }).exec();
      if (res.upsertedCount === 1) return { outcome: 'claimed', image: toImage(fresh) };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // lost an insert race: the image exists now
    }

    const refreshBefore = options.refreshStoredBefore === undefined ? undefined : Date.parse(options.refreshStoredBefore);
    const res = await this.revisions.update('images', this.m.images, id, (img) => {
      const at = new Date();
      const staleBefore = at.getTime() - Math.max(0, options.staleAfterMs);
      const claimable =
        img.status === 'failed'
        || (img.status === 'pending'
          && (img.ownerTaskId === owner || !img.claimedAt || new Date(img.claimedAt).getTime() < staleBefore))
        || (img.status === 'stored' && refreshBefore !== undefined && new Date(img.updatedAt).getTime() < refreshBefore);
      if (!claimable) return null;
      return { set: { status: 'pending', ownerTaskId: owner, claimedAt: at, updatedAt: at }, unset: ['error'] };
    });
    if (!res) throw new Error(`image vanished during claim: ${sourceUrl}`);
    const image = toImage(res.doc);
    if (res.changed) return { outcome: 'claimed', image };
    return { outcome: res.doc.status === 'stored' ? 'stored' : 'in_progress', image };
  }

  async completeImage(imageId: string, ownerTaskId: string, completion: ImageCompletion): Promise<ImageRecord> {
    const res = await this.revisions.update('images', this.m.images, imageId, (img) => {
      if (img.status !== 'pending' || img.ownerTaskId !== ownerTaskId) return null;
      const now = new Date();
      return completion.status === 'stored'
        ? { set: { status: 'stored', file: completion.file, updatedAt: now }, unset: ['ownerTaskId', 'claimedAt', 'error'] }
        // A failure keeps the file of an earlier store: blobs are content-addressed and stay readable.
        : { set: { status: 'failed', error: completion.error, updatedAt: now }, unset: ['ownerTaskId', 'claimedAt'] };
    });
    if (!res) throw new Error(`unknown image ${imageId}`);
    return toImage(res.doc);
  }

  async releaseImage(imageId: string, ownerTaskId: string): Promise<ImageRecord> {
    const res = await this.revisions.update('images', this.m.images, imageId, (img) => {
      if (img.status !== 'pending' || img.ownerTaskId !== ownerTaskId) return null;
      return { set: { updatedAt: new Date() }, unset: ['ownerTaskId', 'claimedAt'] };
    });
    if (!res) throw new Error(`unknown image ${imageId}`);
    return toImage(res.doc);
  }

  async getImage(imageId: string): Promise<ImageRecord | null> {
    const doc = await this.m.images.findById(imageId).lean<ImageDoc>().exec();
    return doc ? toImage(doc) : null;
  }

  async linkImage(link: ImageLink): Promise<void> {
    const set: Record<string, unknown> = {
      taskId: link.taskId, position: link.position, sourceUrl: link.sourceUrl, imageId: link.imageId, outcome: link.outcome,
    };
    const unset: Record<string, ''> = {};
    if (link.error) set.error = link.error;
    else unset.error = '';
    if (link.details) set.details = link.details;
    else unset.details = '';
    const update: Record<string, unknown> = { $set: set };
    if (Object.keys(unset).length) update.$unset = unset;
    const id = taskImageId(link.taskId, link.position);
    await upsert(() => this.m.taskImages.updateOne({ _id: id }, update, { upsert: true }).exec());
  }

  async listTaskImages(taskId: string, query: { limit: number; cursor?: string }): Promise<Page<TaskImage>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? -1 : decodePositionCursor(query.cursor);
    const docs = await this.m.taskImages.find({ taskId, position: { $gt: after } }).sort({ position: 1 })
      .limit(query.limit + 1).lean<TaskImageDoc[]>().exec();
    const more = docs.length > query.limit;
    const items = await this.withFiles(more ? docs.slice(0, query.limit) : docs);
    const last = items[items.length - 1];
    return more && last ? { items, nextCursor: encodePositionCursor(last.position) } : { items };
  }

  async getTaskImage(taskId: string, imageId: string): Promise<TaskImage | null> {
    const docs = await this.m.taskImages.find({ taskId, imageId }).sort({ position: 1 }).limit(1)
      .lean<TaskImageDoc[]>().exec();
    const [item] = await this.withFiles(docs);
    return item ?? null;
  }

  async imageCounts(taskId: string): Promise<ImageCounts> {
    return (await this.countsFor([taskId])).get(taskId) ?? emptyCounts();
  }

  async clearTaskImages(taskId: string): Promise<void> {
    await this.m.taskImages.deleteMany({ taskId }).exec();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.close();
  }

  private async withCounts(doc: TaskDoc): Promise<Task> {
    return doc.kind === 'images' ? toTask(doc, await this.imageCounts(doc._id)) : toTask(doc);
  }

  private async withCountsMany(docs: TaskDoc[]): Promise<Task[]> {
    const counts = await this.countsFor(docs.filter((d) => d.kind === 'images').map((d) => d._id));
    return docs.map((d) => toTask(d, counts.get(d._id)));
  }

  /** One $group over the links of the given tasks ($group works on FerretDB v1; $lookup does not). */
  private async countsFor(taskIds: string[]): Promise<Map<string, ImageCounts>> {
    const map = new Map<string, ImageCounts>();
    if (taskIds.length === 0) return map;
    const rows = await this.m.taskImages.aggregate<{ _id: { taskId: string; outcome: ImageOutcome }; n: number }>([
      { $match: { taskId: { $in: taskIds } } },
      { $group: { _id: { taskId: '$taskId', outcome: '$outcome' }, n: { $sum: 1 } } },
    ]).exec();
    for (const row of rows) {
      let counts = map.get(row._id.taskId);
      if (!counts) map.set(row._id.taskId, (counts = emptyCounts()));
      addCount(counts, row._id.outcome, row.n);
    }
    return map;
  }

  /** Fills each link's file from its image record: a second query, as FerretDB v1 has no $lookup. */
  private async withFiles(docs: TaskImageDoc[]): Promise<TaskImage[]> {
    const ids = [...new Set(docs.filter((d) => d.outcome === 'stored' || d.outcome === 'reused').map((d) => d.imageId))];
    const images = ids.length === 0 ? [] : await this.m.images.find({ _id: { $in: ids } }).lean<ImageDoc[]>().exec();
    const byId = new Map(images.map((i) => [i._id, i]));
    return docs.map((d) => toTaskImage(d, byId.get(d.imageId)));
  }
}

/**
 * Connects (its own Connection, not mongoose's global one), creates the collections' indexes and returns
 * the store. `dbName` overrides the database named in the URL.
 */
export async function openMongoTaskStore(url: string, options: { dbName?: string } = {}): Promise<TaskStore> {
  const connectOptions: ConnectOptions = {
    autoIndex: false, // ensureIndexes below, awaited
    autoCreate: false,
    bufferCommands: false, // fail at once after close() or before connecting, rather than hang
  };
  // Fail fast when the server is down, unless the URL says otherwise.
  if (!/[?&]serverSelectionTimeoutMS=/i.test(url)) connectOptions.serverSelectionTimeoutMS = 10_000;
  if (options.dbName) connectOptions.dbName = options.dbName;
  const conn = mongoose.createConnection(url, connectOptions);
  try {
    await conn.asPromise();
    const models = bindModels(conn);
    await ensureIndexes(models);
    return new MongoTaskStore(conn, models);
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw err;
  }
}
