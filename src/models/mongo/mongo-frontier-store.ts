/**
 * FrontierStore on MongoDB (FerretDB v1: no transactions, no atomic conditional update). Each step is an
 * insert against a derived unique `_id` (frontier-model.ts): the URL document dedupes, the page document
 * takes a page position below max_pages, then the page's tasks are inserted (dispatch-pending). So max_pages
 * is exact and no URL is queued twice whatever the races. A process dying between those steps can leave a
 * URL found but never queued, or a page position without tasks: the crawl then has fewer pages, never more.
 */
import type { BatchJob } from '../batch.js';
import type { CrawlCounters, FrontierCandidate } from '../crawl.js';
import type { FrontierStore } from '../frontier-store.js';
import { newIdWithTime } from '../ids.js';
import { optionsOfKind } from '../task.js';
import type { BatchDoc } from './batch-model.js';
import { pageDocId, urlDocId, type FrontierDoc } from './frontier-model.js';
import type { Models } from './models.js';
import { isDuplicateKey } from './revision.js';
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

export class MongoFrontierStore implements FrontierStore {
  /** Per batch, the lowest page position that may still be free: where this process tries next. */
  private readonly nextPage = new Map<string, number>();

  constructor(private readonly m: Models) {}

  async add(batchId: string, candidates: readonly FrontierCandidate[]): Promise<BatchJob[]> {
    const batch = await this.m.batches.findById(batchId).lean<BatchDoc>().exec();
    if (!batch?.crawl || batch.cancelledAt) return [];
    const { maxPages, pageOptions } = batch.crawl;
    const jobs: BatchJob[] = [];
    for (const c of candidates) {
      if (!(await insertNew(this.m, { _id: urlDocId(batchId, c.url), batchId, kind: 'url', url: c.url, depth: c.depth }))) continue;
      const page = await this.takePage(batchId, maxPages, c);
      if (page === undefined) continue;
      const now = new Date();
      const docs: TaskDoc[] = batch.kinds.map((kind, k) => {
        const task = newIdWithTime();
        const at = new Date(task.ms);
        return {
          _id: task.id, kind, url: c.url, status: 'queued', refresh: batch.refresh, attempts: 0, createdAt: at, updatedAt: at,
          rev: 0, batchId, batchSeq: page * batch.kinds.length + k, dispatchPendingSince: now, ...(batch.owner !== undefined ? { owner: batch.owner } : {}),
          ...optionsOfKind(kind, pageOptions ?? {}),
        };
      });
      await this.m.tasks.insertMany(docs, { ordered: false, lean: true });
      for (const d of docs) jobs.push({ taskId: d._id, kind: d.kind });
    }
    return jobs;
  }

  /** The first free page position below max_pages, taken for `c`; undefined when all are taken. */
  private async takePage(batchId: string, maxPages: number, c: FrontierCandidate): Promise<number | undefined> {
    let n = this.nextPage.get(batchId) ?? (await this.m.frontier.countDocuments({ batchId, kind: 'page' }).exec());
    for (; n < maxPages; n++) {
      if (await insertNew(this.m, { _id: pageDocId(batchId, n), batchId, kind: 'page', url: c.url, depth: c.depth, page: n })) {
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
