/**
 * BatchStore on MongoDB. A batch's tasks go in with unordered insertMany in chunks (no transactions on
 * FerretDB v1): the batch document is written last, and a failed insert removes what it wrote, so a
 * batch is visible only once whole. Task transitions (cancel, retry) go through the revision tickets,
 * like every other task update, so they cannot race a worker's start.
 */
import pLimit from 'p-limit';
import type { BatchStore, BatchTasksQuery, ExportResult } from '../batch-store.js';
import {
  CANCELLED, type Batch, type BatchJob, type BatchProgress, type BatchWithProgress, type ExportOptions,
  type ExportRecord, type NewBatch,
} from '../batch.js';
import { emptyProgress } from '../batch-progress.js';
import { decodePositionCursor, decodeTaskCursor, encodePositionCursor, encodeTaskCursor, newIdWithTime } from '../ids.js';
import { checkPageLimit, pageOf } from '../paging.js';
import { optionsOfKind, type Page, type Task, type TaskStatus } from '../task.js';
import type { BatchDoc, ExportDoc } from './batch-model.js';
import { pageDocId, urlDocId } from './frontier-model.js';
import type { Models } from './models.js';
import type { Revisions } from './revision.js';
import type { TaskDoc } from './task-model.js';

const INSERT_CHUNK = 1000;
/** Task transitions in flight at once when cancelling or retrying a batch. */
const TRANSITIONS_AT_ONCE = 16;
const iso = (d: Date | string): string => new Date(d).toISOString();

function toBatch(d: BatchDoc): Batch {
  const b: Batch = {
    id: d._id, kinds: [...d.kinds], refresh: d.refresh, urlCount: d.urlCount, taskCount: d.taskCount, createdAt: iso(d.createdAt),
  };
  if (d.cancelledAt) b.cancelledAt = iso(d.cancelledAt);
  if (d.crawl) b.crawl = d.crawl;
  if (d.owner) b.owner = d.owner;
  return b;
}

function toExport(d: ExportDoc): ExportRecord {
  const rec: ExportRecord = {
    id: d._id, batchId: d.batchId, options: d.options, status: d.status, createdAt: iso(d.createdAt), shards: d.shards ?? [],
  };
  if (d.finishedAt) rec.finishedAt = iso(d.finishedAt);
  if (d.heartbeatAt) rec.heartbeatAt = iso(d.heartbeatAt);
  if (d.stats) rec.stats = d.stats;
  if (d.error) rec.error = d.error;
  return rec;
}

export class MongoBatchStore implements BatchStore {
  constructor(
    private readonly m: Models,
    private readonly revisions: Revisions,
    /** Task documents → tasks with image counts, as the task store maps them. */
    private readonly toTasks: (docs: TaskDoc[]) => Promise<Task[]>,
  ) {}

  /**
   * Each task as inserted is this process's guess of its next update (Revisions.inserted): the dispatch receipts
   * of a batch's tasks, written by the API that created it, then need no read of tasks no worker started yet.
   */
  private async insertTasks(chunk: TaskDoc[]): Promise<void> {
    await this.m.tasks.insertMany(chunk, { ordered: false, lean: true });
    for (const task of chunk) this.revisions.inserted('tasks', task);
  }

  async createBatch(input: NewBatch): Promise<{ batch: BatchWithProgress; jobs: BatchJob[] }> {
    const { id, ms } = newIdWithTime();
    const doc: BatchDoc = {
      _id: id, kinds: [...input.kinds], refresh: input.refresh, urlCount: input.urls.length,
      taskCount: input.urls.length * input.kinds.length, createdAt: new Date(ms),
      ...(input.crawl ? { crawl: input.crawl } : {}),
      ...(input.owner !== undefined ? { owner: input.owner } : {}),
    };
    const jobs: BatchJob[] = [];
    // Stored dispatch-pending: the feeder's backlog standalone, the outbox with RabbitMQ (receipts clear it).
    const pending = doc.createdAt;
    try {
      if (input.crawl) {
        const url = input.crawl.url;
        await this.m.frontier.insertMany([
          { _id: urlDocId(id, url), batchId: id, kind: 'url', url, depth: 0 },
          { _id: pageDocId(id, 0), batchId: id, kind: 'page', url, depth: 0, page: 0 },
        ]);
      }
      let chunk: TaskDoc[] = [];
      let seq = 0;
      for (const url of input.urls) {
        for (const kind of input.kinds) {
          const task = newIdWithTime();
          const at = new Date(task.ms);
          chunk.push({ _id: task.id, kind, url, status: 'queued', refresh: input.refresh, attempts: 0, createdAt: at, updatedAt: at, rev: 0, batchId: id, batchSeq: seq++, ...optionsOfKind(kind, input), ...(doc.owner !== undefined ? { owner: doc.owner } : {}), dispatchPendingSince: pending });
          jobs.push({ taskId: task.id, kind });
          if (chunk.length >= INSERT_CHUNK) {
            await this.insertTasks(chunk);
            chunk = [];
          }
        }
      }
      if (chunk.length) await this.insertTasks(chunk);
      await this.m.batches.create(doc);
    } catch (err) {
      await this.m.tasks.deleteMany({ batchId: id }).exec().catch(() => undefined);
      await this.m.frontier.deleteMany({ batchId: id }).exec().catch(() => undefined);
      throw err;
    }
    const progress = emptyProgress();
    progress.counts.queued = doc.taskCount;
    return { batch: { ...toBatch(doc), progress }, jobs };
  }

  private async progress(id: string): Promise<BatchProgress> {
    const progress = emptyProgress();
    const rows = await this.m.tasks.aggregate<{ _id: TaskStatus; n: number }>([
      { $match: { batchId: id } },
      { $group: { _id: '$status', n: { $sum: 1 } } },
    ]).exec();
    for (const r of rows) progress.counts[r._id] = r.n;
    // Two index-ordered reads instead of $min/$max accumulators, which FerretDB v1 does not offer.
    const [first] = await this.m.tasks.find({ batchId: id, startedAt: { $exists: true } }).sort({ startedAt: 1 }).limit(1).lean<TaskDoc[]>().exec();
    const [last] = await this.m.tasks.find({ batchId: id, finishedAt: { $exists: true } }).sort({ finishedAt: -1 }).limit(1).lean<TaskDoc[]>().exec();
    if (first?.startedAt) progress.startedAt = iso(first.startedAt);
    if (last?.finishedAt) progress.lastFinishedAt = iso(last.finishedAt);
    return progress;
  }

  private async withProgress(doc: BatchDoc): Promise<BatchWithProgress> {
    const progress = await this.progress(doc._id);
    const batch = toBatch(doc);
    if (doc.crawl) {
      // A crawl grows from many workers at once, and FerretDB v1 has no atomic $inc: count its tasks instead.
      batch.taskCount = Object.values(progress.counts).reduce((a, b) => a + b, 0);
      batch.urlCount = Math.ceil(batch.taskCount / batch.kinds.length);
    }
    return { ...batch, progress };
  }

  async getBatch(id: string): Promise<BatchWithProgress | null> {
    const doc = await this.m.batches.findById(id).lean<BatchDoc>().exec();
    return doc ? this.withProgress(doc) : null;
  }

  async listBatches(query: { limit: number; cursor?: string; owner?: string }): Promise<Page<BatchWithProgress>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const filter: Record<string, unknown> = query.owner !== undefined ? { owner: query.owner } : {};
    if (after) {
      const createdAt = new Date(after.createdAt);
      filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: after.id } }];
    }
    const docs = await this.m.batches.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit + 1).lean<BatchDoc[]>().exec();
    const items = await Promise.all(docs.map((d) => this.withProgress(d)));
    return pageOf(items, query.limit, (b) => encodeTaskCursor(b.createdAt, b.id));
  }

  async listBatchTasks(batchId: string, query: BatchTasksQuery): Promise<Page<Task>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? -1 : decodePositionCursor(query.cursor);
    const filter: Record<string, unknown> = { batchId, batchSeq: { $gt: after } };
    if (query.status === 'finished') filter.status = { $in: ['succeeded', 'failed'] };
    else if (query.status) filter.status = query.status;
    const docs = await this.m.tasks.find(filter).sort({ batchSeq: 1 }).limit(query.limit + 1).lean<TaskDoc[]>().exec();
    return pageOf(await this.toTasks(docs), query.limit, (t) => encodePositionCursor(t.batchSeq ?? 0));
  }

  /** Applies `transition` to every task matching `filter`, page by page, through the revision tickets. */
  private async transitionAll(filter: Record<string, unknown>, transition: (id: string) => Promise<BatchJob | null>): Promise<BatchJob[]> {
    const done: Array<BatchJob & { seq: number }> = [];
    const limit = pLimit(TRANSITIONS_AT_ONCE);
    let after = -1;
    for (;;) {
      const docs = await this.m.tasks.find({ ...filter, batchSeq: { $gt: after } }).sort({ batchSeq: 1 }).limit(1000).lean<TaskDoc[]>().exec();
      if (docs.length === 0) break;
      after = docs[docs.length - 1]?.batchSeq ?? after;
      await Promise.all(docs.map((d) => limit(async () => {
        const job = await transition(d._id);
        if (job) done.push({ ...job, seq: d.batchSeq ?? 0 });
      })));
    }
    return done.sort((a, b) => a.seq - b.seq).map(({ taskId, kind }) => ({ taskId, kind }));
  }

  async cancelBatch(id: string): Promise<{ batch: BatchWithProgress; cancelled: number } | null> {
    const doc = await this.m.batches.findById(id).lean<BatchDoc>().exec();
    if (!doc) return null;
    if (!doc.cancelledAt) await this.m.batches.updateOne({ _id: id, cancelledAt: { $exists: false } }, { $set: { cancelledAt: new Date() } }).exec();
    const error = { code: CANCELLED, message: 'cancelled with its batch before it started' };
    const cancelled = await this.transitionAll({ batchId: id, status: 'queued' }, async (taskId) => {
      const res = await this.revisions.update('tasks', this.m.tasks, taskId, (t) => {
        if (t.status !== 'queued') return null;
        const now = new Date();
        return { set: { status: 'failed', error, finishedAt: now, updatedAt: now } };
      });
      return res?.changed ? { taskId, kind: res.doc.kind } : null;
    });
    const batch = await this.getBatch(id);
    return batch && { batch, cancelled: cancelled.length };
  }

  async retryBatch(id: string): Promise<BatchJob[] | null> {
    if (!(await this.m.batches.exists({ _id: id }).exec())) return null;
    return this.transitionAll({ batchId: id, status: 'failed', 'error.code': { $ne: CANCELLED } }, async (taskId) => {
      const res = await this.revisions.update('tasks', this.m.tasks, taskId, (t) => {
        if (t.status !== 'failed' || t.error?.code === CANCELLED) return null;
        const now = new Date();
        return { set: { status: 'queued', updatedAt: now, dispatchPendingSince: now }, unset: ['error', 'startedAt', 'finishedAt'] };
      });
      return res?.changed ? { taskId, kind: res.doc.kind } : null;
    });
  }

  async createExport(batchId: string, options: ExportOptions): Promise<ExportRecord> {
    const at = new Date();
    const doc: ExportDoc = { _id: newIdWithTime().id, batchId, options, status: 'running', createdAt: at, heartbeatAt: at, shards: [] };
    await this.m.exports.create(doc);
    return toExport(doc);
  }

  async finishExport(id: string, result: ExportResult): Promise<ExportRecord | null> {
    // The process that builds it, or one that found it interrupted (export-liveness.ts): the first to finish it wins.
    const set: Record<string, unknown> = { status: result.status, finishedAt: new Date() };
    if (result.status === 'succeeded') {
      set.shards = result.shards;
      set.stats = result.stats;
    } else set.error = result.error;
    await this.m.exports.updateOne({ _id: id, status: 'running' }, { $set: set }).exec();
    return this.getExport(id);
  }

  async getExport(id: string): Promise<ExportRecord | null> {
    const doc = await this.m.exports.findById(id).lean<ExportDoc>().exec();
    return doc ? toExport(doc) : null;
  }

  async touchExport(id: string): Promise<boolean> {
    const res = await this.m.exports.updateOne({ _id: id, status: 'running' }, { $set: { heartbeatAt: new Date() } }).exec();
    return res.matchedCount === 1;
  }

  async failRunningExports(error: { code: string; message: string }): Promise<number> {
    const res = await this.m.exports.updateMany({ status: 'running' }, { $set: { status: 'failed', finishedAt: new Date(), error } }).exec();
    return res.modifiedCount;
  }
}
