/** BatchStore on the SQLite file of the task store: a batch's tasks are written in one transaction. */
import type Database from 'better-sqlite3';
import type { BatchStore, BatchTasksQuery, ExportResult } from '../batch-store.js';
import {
  CANCELLED, type Batch, type BatchJob, type BatchProgress, type BatchWithProgress, type ExportOptions,
  type ExportRecord, type ExportShard, type ExportStats, type NewBatch,
} from '../batch.js';
import { checkPageLimit, pageOf } from '../paging.js';
import {
  decodePositionCursor, decodeTaskCursor, encodePositionCursor, encodeTaskCursor, newIdWithTime,
} from '../ids.js';
import { optionsOfKind, type KindOptions, type Page, type Task, type TaskKind, type TaskStatus } from '../task.js';
import { emptyProgress } from '../batch-progress.js';
import type { CrawlSpec } from '../crawl.js';
import { transactionsOf, type Transactions } from './transactions.js';

interface BatchRow {
  id: string;
  kinds: string;
  refresh: number;
  url_count: number;
  task_count: number;
  created_at: string;
  cancelled_at: string | null;
  crawl: string | null;
  owner: string | null;
}

interface ExportRow {
  id: string;
  batch_id: string;
  options: string;
  status: ExportRecord['status'];
  created_at: string;
  finished_at: string | null;
  shards: string;
  /** JSON ExportStats, once it succeeded (schema step 8). */
  stats: string | null;
  error: string | null;
  /** Schema step 13; NULL on exports made before. */
  heartbeat_at?: string | null;
}

interface ProgressRow {
  status: TaskStatus;
  n: number;
  started: string | null;
  finished: string | null;
}

const nowIso = (): string => new Date().toISOString();

function toBatch(r: BatchRow): Batch {
  const batch: Batch = {
    id: r.id, kinds: JSON.parse(r.kinds) as TaskKind[], refresh: r.refresh === 1, urlCount: r.url_count,
    taskCount: r.task_count, createdAt: r.created_at,
  };
  if (r.cancelled_at !== null) batch.cancelledAt = r.cancelled_at;
  if (r.crawl !== null) batch.crawl = JSON.parse(r.crawl) as CrawlSpec;
  if (r.owner !== null) batch.owner = r.owner;
  return batch;
}

function toExport(r: ExportRow): ExportRecord {
  const rec: ExportRecord = {
    id: r.id, batchId: r.batch_id, options: JSON.parse(r.options) as ExportOptions, status: r.status,
    createdAt: r.created_at, shards: JSON.parse(r.shards) as ExportShard[],
  };
  if (r.finished_at !== null) rec.finishedAt = r.finished_at;
  if (r.stats !== null) rec.stats = JSON.parse(r.stats) as ExportStats;
  if (r.error !== null) rec.error = JSON.parse(r.error) as ExportRecord['error'];
  if (r.heartbeat_at) rec.heartbeatAt = r.heartbeat_at;
  return rec;
}

/** A queued task of a batch; `pending` (the dispatch-pending mark) null when the caller dispatches it at once. */
export function insertBatchTask(db: Database.Database) {
  const stmt = db.prepare<[{ id: string; kind: TaskKind; url: string; refresh: number; format: string | null; options: string | null; at: string; batchId: string; seq: number; pending: string | null; owner: string | null }], void>(`
    INSERT INTO tasks (id, kind, url, status, refresh, format, options, attempts, created_at, updated_at, batch_id, batch_seq, dispatch_pending_since, owner, webhook)
    VALUES (@id, @kind, @url, 'queued', @refresh, @format, @options, 0, @at, @at, @batchId, @seq, @pending, @owner, 0)`);
  // The task's own options (text format, images options as JSON) and the batch's owner, when it has any.
  return {
    run: (p: { id: string; kind: TaskKind; url: string; refresh: number; at: string; batchId: string; seq: number; pending: string | null; format?: string | null; options?: string | null; owner?: string | null }) =>
      stmt.run({ format: null, options: null, owner: null, ...p }),
  };
}

/** Each kind's option columns (tasks.format, tasks.options as JSON), as a single task of that kind stores them. */
export function optionColumnsByKind(given: KindOptions): Record<TaskKind, { format: string | null; options: string | null }> {
  const columns = (kind: TaskKind) => {
    const o = optionsOfKind(kind, given);
    return { format: o.format ?? null, options: o.options ? JSON.stringify(o.options) : null };
  };
  return { text: columns('text'), images: columns('images') };
}

function prepare<Row>(db: Database.Database) {
  const tasksSql = (status: 'one' | 'finished' | 'any') => `
    SELECT * FROM tasks WHERE batch_id = @batchId AND batch_seq > @after
      ${status === 'one' ? 'AND status = @status' : status === 'finished' ? "AND status IN ('succeeded', 'failed')" : ''}
      ORDER BY batch_seq LIMIT @limit`;
  return {
    insertBatch: db.prepare<[BatchRow], void>(`
      INSERT INTO batches (id, kinds, refresh, url_count, task_count, created_at, cancelled_at, crawl, owner)
      VALUES (@id, @kinds, @refresh, @url_count, @task_count, @created_at, @cancelled_at, @crawl, @owner)`),
    insertTask: insertBatchTask(db),
    insertSeed: db.prepare<[{ batchId: string; url: string }], void>(`
      INSERT INTO crawl_frontier (batch_id, url, depth, page) VALUES (@batchId, @url, 0, 0)`),
    getBatch: db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE id = ?'),
    // One statement per filter combination (c: cursor, o: owner).
    listBatches: new Map(['', 'c', 'o', 'co'].map((v) => [v, db.prepare<[Record<string, unknown>], BatchRow>(`
      SELECT * FROM batches WHERE 1 ${v.includes('c') ? 'AND (created_at, id) < (@createdAt, @id)' : ''} ${v.includes('o') ? 'AND owner = @owner' : ''}
      ORDER BY created_at DESC, id DESC LIMIT @limit`)])),
    progress: db.prepare<[string], ProgressRow>(`
      SELECT status, COUNT(*) AS n, MIN(started_at) AS started, MAX(finished_at) AS finished
      FROM tasks WHERE batch_id = ? GROUP BY status`),
    tasks: {
      any: db.prepare<[Record<string, unknown>], Row>(tasksSql('any')),
      one: db.prepare<[Record<string, unknown>], Row>(tasksSql('one')),
      finished: db.prepare<[Record<string, unknown>], Row>(tasksSql('finished')),
    },
    cancelBatch: db.prepare<[{ id: string; now: string }], void>('UPDATE batches SET cancelled_at = COALESCE(cancelled_at, @now) WHERE id = @id'),
    cancelTasks: db.prepare<[{ id: string; now: string; error: string }], void>(`
      UPDATE tasks SET status = 'failed', error = @error, finished_at = @now, updated_at = @now
      WHERE batch_id = @id AND status = 'queued'`),
    retryTasks: db.prepare<[{ id: string; now: string; cancelled: string }], { id: string; kind: TaskKind }>(`
      UPDATE tasks SET status = 'queued', error = NULL, started_at = NULL, finished_at = NULL, updated_at = @now, dispatch_pending_since = @now
      WHERE batch_id = @id AND status = 'failed' AND json_extract(error, '$.code') IS NOT @cancelled
      RETURNING id, kind, batch_seq`),
    insertExport: db.prepare<[ExportRow], void>(`
      INSERT INTO exports (id, batch_id, options, status, created_at, finished_at, shards, stats, error, heartbeat_at)
      VALUES (@id, @batch_id, @options, @status, @created_at, @finished_at, @shards, @stats, @error, @heartbeat_at)`),
    touchExport: db.prepare<[{ id: string; now: string }], void>("UPDATE exports SET heartbeat_at = @now WHERE id = @id AND status = 'running'"),
    finishExport: db.prepare<[{ id: string; status: string; now: string; shards: string; stats: string | null; error: string | null }], ExportRow>(`
      UPDATE exports SET status = @status, finished_at = @now, shards = @shards, stats = @stats, error = @error
      WHERE id = @id AND status = 'running' RETURNING *`),
    getExport: db.prepare<[string], ExportRow>('SELECT * FROM exports WHERE id = ?'),
    failRunningExports: db.prepare<[{ now: string; error: string }], void>(`
      UPDATE exports SET status = 'failed', finished_at = @now, error = @error WHERE status = 'running'`),
  };
}

export class SqliteBatchStore<Row extends { batch_seq?: number | null }> implements BatchStore {
  private readonly tx: Transactions;
  private readonly stmt: ReturnType<typeof prepare<Row>>;

  /** `toTasks` maps task rows the way the task store does (with image counts). */
  constructor(db: Database.Database, private readonly toTasks: (rows: Row[]) => Task[]) {
    this.stmt = prepare<Row>(db);
    this.tx = transactionsOf(db);
  }

  async createBatch(input: NewBatch): Promise<{ batch: BatchWithProgress; jobs: BatchJob[] }> {
    const { id, ms } = newIdWithTime();
    const row: BatchRow = {
      id, kinds: JSON.stringify(input.kinds), refresh: input.refresh ? 1 : 0, url_count: input.urls.length,
      task_count: input.urls.length * input.kinds.length, created_at: new Date(ms).toISOString(), cancelled_at: null,
      crawl: input.crawl ? JSON.stringify(input.crawl) : null,
      owner: input.owner ?? null,
    };
    // Stored dispatch-pending: the feeder's backlog standalone, the outbox with RabbitMQ (receipts clear it).
    const pending = row.created_at;
    const jobs: BatchJob[] = new Array<BatchJob>(row.task_count);
    const own = optionColumnsByKind(input);
    // One transaction: prepared inserts in a loop run at ~1 µs each, so 100k tasks take well under a second.
    this.tx.immediate(() => {
      this.stmt.insertBatch.run(row);
      if (input.crawl) this.stmt.insertSeed.run({ batchId: id, url: input.crawl.url });
      let seq = 0;
      for (const url of input.urls) {
        for (const kind of input.kinds) {
          const task = newIdWithTime();
          this.stmt.insertTask.run({ id: task.id, kind, url, refresh: row.refresh, ...own[kind], at: new Date(task.ms).toISOString(), batchId: id, seq, pending, owner: row.owner });
          jobs[seq++] = { taskId: task.id, kind };
        }
      }
    });
    const progress = emptyProgress();
    progress.counts.queued = row.task_count;
    return { batch: { ...toBatch(row), progress }, jobs };
  }

  private progressSync(id: string): BatchProgress {
    const progress = emptyProgress();
    for (const r of this.stmt.progress.all(id)) {
      progress.counts[r.status] = r.n;
      if (r.started && (!progress.startedAt || r.started < progress.startedAt)) progress.startedAt = r.started;
      if (r.finished && (!progress.lastFinishedAt || r.finished > progress.lastFinishedAt)) progress.lastFinishedAt = r.finished;
    }
    return progress;
  }

  private withProgress(row: BatchRow): BatchWithProgress {
    return { ...toBatch(row), progress: this.progressSync(row.id) };
  }

  async getBatch(id: string): Promise<BatchWithProgress | null> {
    return this.tx.deferred(() => {
      const row = this.stmt.getBatch.get(id);
      return row ? this.withProgress(row) : null;
    });
  }

  async listBatches(query: { limit: number; cursor?: string; owner?: string }): Promise<Page<BatchWithProgress>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const stmt = this.stmt.listBatches.get(`${after ? 'c' : ''}${query.owner !== undefined ? 'o' : ''}`) as Database.Statement<[Record<string, unknown>], BatchRow>;
    return this.tx.deferred(() => {
      const rows = stmt.all({ limit: query.limit + 1, owner: query.owner, ...after });
      return pageOf(rows.map((r) => this.withProgress(r)), query.limit, (b) => encodeTaskCursor(b.createdAt, b.id));
    });
  }

  async listBatchTasks(batchId: string, query: BatchTasksQuery): Promise<Page<Task>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? -1 : decodePositionCursor(query.cursor);
    const params = { batchId, after, limit: query.limit + 1, status: query.status };
    const { tasks } = this.stmt;
    const stmt = query.status === undefined ? tasks.any : query.status === 'finished' ? tasks.finished : tasks.one;
    return this.tx.deferred(() => {
      const rows = stmt.all(params);
      return pageOf(this.toTasks(rows), query.limit, (t) => encodePositionCursor(t.batchSeq ?? 0));
    });
  }

  async cancelBatch(id: string): Promise<{ batch: BatchWithProgress; cancelled: number } | null> {
    return this.tx.immediate(() => {
      if (!this.stmt.getBatch.get(id)) return null;
      const now = nowIso();
      this.stmt.cancelBatch.run({ id, now });
      const error = JSON.stringify({ code: CANCELLED, message: 'cancelled with its batch before it started' });
      const { changes } = this.stmt.cancelTasks.run({ id, now, error });
      const batch = this.withProgress(this.stmt.getBatch.get(id) as BatchRow);
      return { batch, cancelled: changes };
    });
  }

  async retryBatch(id: string): Promise<BatchJob[] | null> {
    return this.tx.immediate(() => {
      if (!this.stmt.getBatch.get(id)) return null;
      const rows = this.stmt.retryTasks.all({ id, now: nowIso(), cancelled: CANCELLED }) as Array<{ id: string; kind: TaskKind; batch_seq: number }>;
      rows.sort((a, b) => a.batch_seq - b.batch_seq);
      return rows.map((r) => ({ taskId: r.id, kind: r.kind }));
    });
  }

  async createExport(batchId: string, options: ExportOptions): Promise<ExportRecord> {
    const at = nowIso();
    const row: ExportRow = {
      id: newIdWithTime().id, batch_id: batchId, options: JSON.stringify(options), status: 'running',
      created_at: at, finished_at: null, shards: '[]', stats: null, error: null, heartbeat_at: at,
    };
    this.stmt.insertExport.run(row);
    return toExport(row);
  }

  async finishExport(id: string, result: ExportResult): Promise<ExportRecord | null> {
    // .all(), not .get(): a write run with .get() can report a row whose commit failed (docs/decisions.md).
    const [row = this.stmt.getExport.get(id)] = this.stmt.finishExport.all({
      id, status: result.status, now: nowIso(),
      shards: JSON.stringify(result.status === 'succeeded' ? result.shards : []),
      stats: result.status === 'succeeded' ? JSON.stringify(result.stats) : null,
      error: result.status === 'failed' ? JSON.stringify(result.error) : null,
    });
    return row ? toExport(row) : null;
  }

  async getExport(id: string): Promise<ExportRecord | null> {
    const row = this.stmt.getExport.get(id);
    return row ? toExport(row) : null;
  }

  async touchExport(id: string): Promise<boolean> {
    return this.stmt.touchExport.run({ id, now: nowIso() }).changes === 1;
  }

  async failRunningExports(error: { code: string; message: string }): Promise<number> {
    return this.stmt.failRunningExports.run({ now: nowIso(), error: JSON.stringify(error) }).changes;
  }
}
