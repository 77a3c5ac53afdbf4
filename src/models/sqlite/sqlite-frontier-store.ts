/**
 * FrontierStore on the SQLite file of the task store. One IMMEDIATE transaction per call: SQLite has one
 * writer at a time, so the admitted count read at its start (the batch's url_count) stays true to its end,
 * which makes max_pages exact across processes; the primary key (batch, URL) dedupes.
 */
import type Database from 'better-sqlite3';
import type { BatchJob } from '../batch.js';
import type { CrawlCounters, CrawlSpec, FrontierCandidate } from '../crawl.js';
import type { FrontierStore } from '../frontier-store.js';
import { newIdWithTime } from '../ids.js';
import type { TaskKind } from '../task.js';
import { insertBatchTask, optionColumnsByKind } from './sqlite-batch-store.js';
import { transactionsOf, type Transactions } from './transactions.js';

interface CrawlBatchRow {
  kinds: string;
  refresh: number;
  url_count: number;
  cancelled_at: string | null;
  crawl: string | null;
  owner: string | null;
}

function prepare(db: Database.Database) {
  return {
    batch: db.prepare<[string], CrawlBatchRow>('SELECT kinds, refresh, url_count, cancelled_at, crawl, owner FROM batches WHERE id = ?'),
    insert: db.prepare<[{ batchId: string; url: string; depth: number; page: number | null }], void>(`
      INSERT INTO crawl_frontier (batch_id, url, depth, page) VALUES (@batchId, @url, @depth, @page)
      ON CONFLICT DO NOTHING`),
    insertTask: insertBatchTask(db),
    admitted: db.prepare<[{ id: string; n: number; tasks: number }], void>('UPDATE batches SET url_count = @n, task_count = @tasks WHERE id = @id'),
    frontier: db.prepare<[string], { discovered: number; queued: number; depth: number | null }>(`
      SELECT COUNT(*) AS discovered, COUNT(page) AS queued, MAX(CASE WHEN page IS NOT NULL THEN depth END) AS depth
      FROM crawl_frontier WHERE batch_id = ?`),
    depth: db.prepare<[{ batchId: string; url: string }], { depth: number }>('SELECT depth FROM crawl_frontier WHERE batch_id = @batchId AND url = @url'),
    unfinishedPages: db.prepare<[{ id: string; kinds: number }], { n: number }>(`
      SELECT COUNT(DISTINCT batch_seq / CAST(@kinds AS INTEGER)) AS n FROM tasks WHERE batch_id = @id AND status IN ('queued', 'running')`),
  };
}

export class SqliteFrontierStore implements FrontierStore {
  private readonly tx: Transactions;
  private readonly stmt: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.stmt = prepare(db);
    this.tx = transactionsOf(db);
  }

  async add(batchId: string, candidates: readonly FrontierCandidate[]): Promise<BatchJob[]> {
    return this.tx.immediate((): BatchJob[] => {
      const batch = this.stmt.batch.get(batchId);
      if (!batch?.crawl || batch.cancelled_at !== null) return [];
      const spec = JSON.parse(batch.crawl) as CrawlSpec;
      const kinds = JSON.parse(batch.kinds) as TaskKind[];
      const jobs: BatchJob[] = [];
      let admitted = batch.url_count;
      const pending = new Date().toISOString();
      const own = optionColumnsByKind(spec.pageOptions ?? {});
      for (const c of candidates) {
        const page = admitted < spec.maxPages ? admitted : null;
        const { changes } = this.stmt.insert.run({ batchId, url: c.url, depth: c.depth, page });
        if (changes === 0 || page === null) continue;
        admitted++;
        kinds.forEach((kind, k) => {
          const task = newIdWithTime();
          // The crawl's pages belong to the crawl's key, as a batch's tasks to the batch's.
          this.stmt.insertTask.run({
            id: task.id, kind, url: c.url, refresh: batch.refresh, at: new Date(task.ms).toISOString(), batchId, seq: page * kinds.length + k, owner: batch.owner, pending,
            ...own[kind],
          });
          jobs.push({ taskId: task.id, kind });
        });
      }
      if (admitted !== batch.url_count) this.stmt.admitted.run({ id: batchId, n: admitted, tasks: admitted * kinds.length });
      return jobs;
    });
  }

  async depthOf(batchId: string, url: string): Promise<number | null> {
    return this.stmt.depth.get({ batchId, url })?.depth ?? null;
  }

  async counters(batchId: string): Promise<CrawlCounters | null> {
    return this.tx.deferred((): CrawlCounters | null => {
      const batch = this.stmt.batch.get(batchId);
      if (!batch?.crawl) return null;
      const f = this.stmt.frontier.get(batchId) as { discovered: number; queued: number; depth: number | null };
      const kinds = (JSON.parse(batch.kinds) as TaskKind[]).length;
      const unfinished = this.stmt.unfinishedPages.get({ id: batchId, kinds })?.n ?? 0;
      return { discovered: f.discovered, queued: f.queued, done: f.queued - unfinished, depthReached: f.depth ?? 0 };
    });
  }
}
