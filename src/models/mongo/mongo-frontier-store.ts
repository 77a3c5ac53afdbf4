/**
 * FrontierStore on MongoDB (FerretDB v1: no transactions, no atomic conditional update). Each step is an
 * insert against a derived unique `_id` (frontier-model.ts): the URL document dedupes, the page document
 * takes a page position below max_pages, then the page's tasks are inserted (dispatch-pending). So max_pages
 * is exact and no URL is queued twice whatever the races. A process dying between those steps leaves a URL
 * found but not queued, or a page position without its tasks; the parent page's task then runs again, and its
 * add, a recheck, completes them (`complete`).
 */
import type { BatchJob } from '../batch.js';
import type { CrawlCounters, FrontierCandidate } from '../crawl.js';
import type { FrontierStore } from '../frontier-store.js';
import { newIdWithTime } from '../ids.js';
import { optionsOfKind } from '../task.js';
import type { BatchDoc } from './batch-model.js';
import { pageDocId, urlDocId, type FrontierDoc } from './frontier-model.js';
import type { Models } from './models.js';
import { isDuplicateKey } from './write-errors.js';
import type { TaskDoc } from './task-model.js';

/** Inserts `doc`; false when its `_id` exists already. */
async function insertNew(m: Models, doc: FrontierDoc): Promise<boolean> {
  try {
    await m.frontier.create(doc);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * How long a live add may take between its steps. A recheck leaves younger half-done URLs alone: another
 * process may be finishing them right now, and completing them too would queue a page twice.
 */
const SETTLE_MS = 10_000;

export class MongoFrontierStore implements FrontierStore {
  /** Per batch, the lowest page position that may still be free: where this process tries next. */
  private readonly nextPage = new Map<string, number>();

  constructor(private readonly m: Models) {}

  async add(batchId: string, candidates: readonly FrontierCandidate[], opts: { recheck?: boolean } = {}): Promise<BatchJob[]> {
    const batch = await this.m.batches.findById(batchId).lean<BatchDoc>().exec();
    if (!batch?.crawl || batch.cancelledAt) return [];
    const jobs: BatchJob[] = [];
    for (const c of candidates) {
      const at = new Date();
      if (await insertNew(this.m, { _id: urlDocId(batchId, c.url), batchId, kind: 'url', url: c.url, depth: c.depth, at })) {
        const page = await this.takePage(batchId, batch.crawl.maxPages, c, at);
        if (page !== undefined) jobs.push(...(await this.insertTasks(batch, page, c.url, new Set())));
      } else if (opts.recheck) {
        jobs.push(...(await this.complete(batch, c.url, at.getTime() - SETTLE_MS)));
      }
    }
    return jobs;
  }

  /** A URL found before, on a recheck: its page position and tasks where a call that died left them out. */
  private async complete(batch: BatchDoc, url: string, settledBefore: number): Promise<BatchJob[]> {
    const batchId = batch._id;
    const found = await this.m.frontier.findById(urlDocId(batchId, url)).lean<FrontierDoc>().exec();
    if (!found || (found.at?.getTime() ?? 0) > settledBefore) return [];
    const taken = await this.m.frontier.findOne({ batchId, kind: 'page', url }).lean<FrontierDoc>().exec();
    if (!taken) {
      const page = await this.takePage(batchId, batch.crawl?.maxPages ?? 0, found, new Date());
      return page === undefined ? [] : this.insertTasks(batch, page, url, new Set());
    }
    if ((taken.at?.getTime() ?? 0) > settledBefore || taken.page === undefined) return [];
    const per = batch.kinds.length;
    const have = await this.m.tasks
      .find({ batchId, batchSeq: { $gte: taken.page * per, $lt: (taken.page + 1) * per } }, { batchSeq: 1 })
      .lean<TaskDoc[]>()
      .exec();
    return this.insertTasks(batch, taken.page, url, new Set(have.map((t) => t.batchSeq)));
  }

  /** Inserts the queued, dispatch-pending tasks of page position `page`, except those whose batchSeq exists. */
  private async insertTasks(batch: BatchDoc, page: number, url: string, existing: ReadonlySet<number | undefined>): Promise<BatchJob[]> {
    const now = new Date();
    const docs: TaskDoc[] = [];
    batch.kinds.forEach((kind, k) => {
      const batchSeq = page * batch.kinds.length + k;
      if (existing.has(batchSeq)) return;
      const task = newIdWithTime();
      const at = new Date(task.ms);
      docs.push({
        _id: task.id, kind, url, status: 'queued', refresh: batch.refresh, attempts: 0, createdAt: at, updatedAt: at,
        rev: 0, batchId: batch._id, batchSeq, dispatchPendingSince: now, ...(batch.owner !== undefined ? { owner: batch.owner } : {}),
        ...optionsOfKind(kind, batch.crawl?.pageOptions ?? {}),
      });
    });
    if (docs.length) await this.m.tasks.insertMany(docs, { ordered: false, lean: true });
    return docs.map((d) => ({ taskId: d._id, kind: d.kind }));
  }

  /** The first free page position below max_pages, taken for `c`; undefined when all are taken. */
  private async takePage(batchId: string, maxPages: number, c: FrontierCandidate, at: Date): Promise<number | undefined> {
    let n = this.nextPage.get(batchId) ?? (await this.m.frontier.countDocuments({ batchId, kind: 'page' }).exec());
    for (; n < maxPages; n++) {
      if (await insertNew(this.m, { _id: pageDocId(batchId, n), batchId, kind: 'page', url: c.url, depth: c.depth, page: n, at })) {
        this.remember(batchId, n + 1);
        return n;
      }
    }
    this.remember(batchId, maxPages);
    return undefined;
  }

  private remember(batchId: string, next: number): void {
    if (this.nextPage.size > 10_000) this.nextPage.clear();
    this.nextPage.set(batchId, next);
  }

  async depthOf(batchId: string, url: string): Promise<number | null> {
    const doc = await this.m.frontier.findById(urlDocId(batchId, url)).lean<FrontierDoc>().exec();
    return doc?.depth ?? null;
  }

  async counters(batchId: string): Promise<CrawlCounters | null> {
    const batch = await this.m.batches.findById(batchId).lean<BatchDoc>().exec();
    if (!batch?.crawl) return null;
    const [discovered, queued, [deepest], unfinished] = await Promise.all([
      this.m.frontier.countDocuments({ batchId, kind: 'url' }).exec(),
      this.m.frontier.countDocuments({ batchId, kind: 'page' }).exec(),
      this.m.frontier.find({ batchId, kind: 'page' }).sort({ depth: -1 }).limit(1).lean<FrontierDoc[]>().exec(),
      this.m.tasks.find({ batchId, status: { $in: ['queued', 'running'] } }, { batchSeq: 1 }).lean<TaskDoc[]>().exec(),
    ]);
    const unfinishedPages = new Set(unfinished.map((t) => Math.floor((t.batchSeq ?? 0) / batch.kinds.length))).size;
    return { discovered, queued, done: queued - unfinishedPages, depthReached: deepest?.depth ?? 0 };
  }
}
