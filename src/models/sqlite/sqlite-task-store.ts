/**
 * TaskStore on one SQLite file (better-sqlite3), for the standalone mode. Several processes may share
 * the file: WAL lets readers run beside a writer, and every read-then-write runs in an IMMEDIATE
 * transaction, so it holds the write lock from its first read.
 */
import { SqliteWebhookStore } from './sqlite-webhook-store.js';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  decodePositionCursor, decodeTaskCursor, encodePositionCursor, encodeTaskCursor, newIdWithTime,
} from '../ids.js';
import type {
  ClaimResult, ImageCounts, ImageOutcome, ImageRecord, ImageStatus, ImagesTaskOptions, NewTask, Page, PageInfo, StoredFile, Task,
  TaskError, TaskHead, TaskImage, TaskImageDetails, TaskKind, TaskStatus, TextFormat,
} from '../task.js';
import type {
  ClaimOptions, ImageCompletion, ImageLink, ImageSettlement, ListTasksQuery, SettledImage, TaskStore,
} from '../task-store.js';
import type { ApiKeyStore, UsageStore } from '../ops-store.js';
import {
  decideDispatched, decideRelease, decideRenew, decideStart, decideSweep,
  type LeaseRequest, type StartOptions, type TaskPatch,
} from '../task-lease-rules.js';
import {
  applyImagePatch, claimResult, decideClaim, decideCompletion, decideFinish, decideImageRelease, emptyCounts, foldCounts,
  newImageClaim, type FinishResult, type ImagePatch,
} from '../task-rules.js';
import { checkPageLimit, pageOf } from '../paging.js';
import { groupByTask } from '../task-store.js';
import { migrate } from './schema.js';
import { SqliteBatchStore } from './sqlite-batch-store.js';
import { SqliteFeedStore } from './sqlite-feed-store.js';
import { SqliteFrontierStore } from './sqlite-frontier-store.js';
import { SqliteApiKeyStore, SqliteUsageStore } from './sqlite-ops-store.js';
import { transactionsOf, type Transactions } from './transactions.js';

/** TaskPatch fields stored in a column of their own name (lease, error and page are mapped by hand). */
const PATCH_COLUMNS: Record<Exclude<keyof TaskPatch, 'lease' | 'error' | 'page'>, string> = {
  status: 'status', attempts: 'attempts', startedAt: 'started_at', finishedAt: 'finished_at',
  dispatchPendingSince: 'dispatch_pending_since', updatedAt: 'updated_at',
};

type TaskHeadRow = Pick<TaskRow, 'kind' | 'status' | 'attempts' | 'updated_at' | 'owner'>;

interface TaskRow {
  id: string;
  kind: TaskKind;
  url: string;
  status: TaskStatus;
  refresh: number;
  format: TextFormat | null;
  attempts: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  page: string | null;
  options: string | null;
  batch_id?: string | null;
  batch_seq?: number | null;
  owner: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  dispatch_pending_since: string | null;
  webhook?: number | null;
}

interface ImageRow {
  id: string;
  source_url: string;
  status: ImageStatus;
  owner_task_id: string | null;
  claimed_at: string | null;
  updated_at: string;
  file: string | null;
  error: string | null;
}

interface TaskImageRow {
  task_id: string;
  position: number;
  source_url: string;
  image_id: string;
  outcome: ImageOutcome;
  error: string | null;
  details: string | null;
  file: string | null;
}

interface CountRow {
  task_id: string;
  outcome: ImageOutcome;
  n: number;
}

const BUSY_TIMEOUT_MS = 10_000;

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = <T>(v: string | null): T | undefined => (v === null ? undefined : (JSON.parse(v) as T));

const countRow = (r: CountRow) => ({ taskId: r.task_id, outcome: r.outcome, n: r.n });

/** TaskPatch fields → tasks columns. */
function taskColumns(patch: TaskPatch): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch) as Array<[keyof TaskPatch, unknown]>) {
    if (value === undefined) continue;
    if (key === 'lease') {
      const lease = value as TaskPatch['lease'];
      columns.lease_owner = lease?.owner ?? null;
      columns.lease_until = lease?.until ?? null;
    } else if (key === 'error' || key === 'page') columns[key] = json(value);
    else columns[PATCH_COLUMNS[key]] = value;
  }
  return columns;
}

/**
 * The row a write `… RETURNING *` changed, if any. Never `.get()` on a write: better-sqlite3's get() takes the
 * first row and resets the statement, and the autocommit that reset performs can fail (SQLITE_FULL, IOERR) and
 * roll the change back while get() still returns the new row. all() steps to the end, so a failed commit throws.
 */
function written<P extends unknown[], R>(stmt: Database.Statement<P, R>, ...params: P): R | undefined {
  return stmt.all(...params)[0];
}

/** ImagePatch fields → images columns (JSON for the file and the error). */
function imageColumns(patch: ImagePatch): Record<string, unknown> {
  const columns: Record<string, unknown> = { updated_at: patch.updatedAt };
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.ownerTaskId !== undefined) columns.owner_task_id = patch.ownerTaskId;
  if (patch.claimedAt !== undefined) columns.claimed_at = patch.claimedAt;
  if (patch.file !== undefined) columns.file = json(patch.file);
  if (patch.error !== undefined) columns.error = json(patch.error);
  return columns;
}

function toImage(r: ImageRow): ImageRecord {
  const image: ImageRecord = { id: r.id, sourceUrl: r.source_url, status: r.status, updatedAt: r.updated_at };
  if (r.owner_task_id !== null) image.ownerTaskId = r.owner_task_id;
  if (r.claimed_at !== null) image.claimedAt = r.claimed_at;
  const file = parse<StoredFile>(r.file);
  if (file) image.file = file;
  const error = parse<TaskError>(r.error);
  if (error) image.error = error;
  return image;
}

function toTaskImage(r: TaskImageRow): TaskImage {
  const link: TaskImage = {
    taskId: r.task_id, position: r.position, sourceUrl: r.source_url, imageId: r.image_id, outcome: r.outcome,
  };
  const error = parse<TaskError>(r.error);
  if (error) link.error = error;
  const file = r.outcome === 'stored' || r.outcome === 'reused' ? parse<StoredFile>(r.file) : undefined;
  if (file) link.file = file;
  const details = parse<TaskImageDetails>(r.details);
  if (details) link.details = details;
  return link;
}

function prepareStatements(db: Database.Database) {
  const listSql = (status: boolean, cursor: boolean, owner: boolean): string => `
    SELECT * FROM tasks WHERE kind = @kind ${status ? 'AND status = @status' : ''} ${owner ? 'AND owner = @owner' : ''}
      ${cursor ? 'AND (created_at, id) < (@createdAt, @id)' : ''}
      ORDER BY created_at DESC, id DESC LIMIT @limit`;
  // One statement per combination of filters, named by which are present (s: status, c: cursor, o: owner).
  const list = new Map<string, Database.Statement<[Record<string, unknown>], TaskRow>>();
  for (const status of [false, true]) {
    for (const cursor of [false, true]) {
      for (const owner of [false, true]) {
        list.set(`${status ? 's' : ''}${cursor ? 'c' : ''}${owner ? 'o' : ''}`, db.prepare<[Record<string, unknown>], TaskRow>(listSql(status, cursor, owner)));
      }
    }
  }
  return {
    insertTask: db.prepare<[TaskRow], void>(`
      INSERT INTO tasks (id, kind, url, status, refresh, format, attempts, created_at, updated_at, started_at, finished_at, error, page, options, owner,
        lease_owner, lease_until, dispatch_pending_since, webhook)
      VALUES (@id, @kind, @url, @status, @refresh, @format, @attempts, @created_at, @updated_at, @started_at, @finished_at, @error, @page, @options, @owner,
        @lease_owner, @lease_until, @dispatch_pending_since, @webhook)`),
    getTask: db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?'),
    getTaskHead: db.prepare<[string], TaskHeadRow>('SELECT kind, status, attempts, updated_at, owner FROM tasks WHERE id = ?'),
    list,
    unfinished: db.prepare<[], TaskRow>(`
      SELECT * FROM tasks WHERE status IN ('queued', 'running') ORDER BY created_at, id`),
    unfinishedOfKind: db.prepare<[TaskKind], TaskRow>(`
      SELECT * FROM tasks WHERE status IN ('queued', 'running') AND kind = ? ORDER BY created_at, id`),
    saveText: db.prepare<[string, string], void>(`
      INSERT INTO task_texts (task_id, text) VALUES (?, ?)
      ON CONFLICT (task_id) DO UPDATE SET text = excluded.text`),
    getText: db.prepare<[string], { text: string }>('SELECT text FROM task_texts WHERE task_id = ?'),
    countsOf: db.prepare<[string], CountRow>(`
      SELECT task_id, outcome, COUNT(*) AS n FROM task_images WHERE task_id = ? GROUP BY outcome`),
    countsOfMany: db.prepare<[string], CountRow>(`
      SELECT task_id, outcome, COUNT(*) AS n FROM task_images
      WHERE task_id IN (SELECT value FROM json_each(?)) GROUP BY task_id, outcome`),
    insertImage: db.prepare<[{ id: string; url: string; owner: string; now: string }], ImageRow>(`
      INSERT INTO images (id, source_url, status, owner_task_id, claimed_at, updated_at)
      VALUES (@id, @url, 'pending', @owner, @now, @now) RETURNING *`),
    imageByUrl: db.prepare<[string], ImageRow>('SELECT * FROM images WHERE source_url = ?'),
    imageById: db.prepare<[string], ImageRow>('SELECT * FROM images WHERE id = ?'),
    linkImage: db.prepare<[Record<string, unknown>], void>(`
      INSERT INTO task_images (task_id, position, source_url, image_id, outcome, error, details)
      VALUES (@taskId, @position, @sourceUrl, @imageId, @outcome, @error, @details)
      ON CONFLICT (task_id, position) DO UPDATE SET source_url = excluded.source_url,
        image_id = excluded.image_id, outcome = excluded.outcome, error = excluded.error, details = excluded.details`),
    listTaskImages: db.prepare<[{ taskId: string; after: number; limit: number }], TaskImageRow>(`
      SELECT ti.*, i.file AS file FROM task_images ti JOIN images i ON i.id = ti.image_id
      WHERE ti.task_id = @taskId AND ti.position > @after ORDER BY ti.position LIMIT @limit`),
    listImagesOfTasks: db.prepare<[string], TaskImageRow>(`
      SELECT ti.*, i.file AS file FROM task_images ti JOIN images i ON i.id = ti.image_id
      WHERE ti.task_id IN (SELECT value FROM json_each(?)) ORDER BY ti.task_id, ti.position`),
    getTaskImage: db.prepare<[string, string], TaskImageRow>(`
      SELECT ti.*, i.file AS file FROM task_images ti JOIN images i ON i.id = ti.image_id
      WHERE ti.task_id = ? AND ti.image_id = ? ORDER BY ti.position LIMIT 1`),
    clearTaskImages: db.prepare<[string], void>('DELETE FROM task_images WHERE task_id = ?'),
    undispatched: db.prepare<[{ before: string; limit: number }], TaskRow>(`
      SELECT * FROM tasks WHERE dispatch_pending_since IS NOT NULL AND dispatch_pending_since <= @before
        AND status = 'queued' ORDER BY dispatch_pending_since LIMIT @limit`),
  };
}

export class SqliteTaskStore implements TaskStore {
  private readonly tx: Transactions;
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly patchStatements = new Map<string, Database.Statement<[Record<string, unknown>], never>>();
  readonly batches: SqliteBatchStore<TaskRow>;
  readonly webhooks: SqliteWebhookStore;
  readonly frontier: SqliteFrontierStore;
  readonly feed: SqliteFeedStore;
  readonly keys: ApiKeyStore;
  readonly usage: UsageStore;

  constructor(file: string) {
    if (file !== ':memory:' && file !== '') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.tx = transactionsOf(this.db);

    this.stmt = prepareStatements(this.db);
    this.batches = new SqliteBatchStore<TaskRow>(this.db, (rows) => this.toTasks(rows));
    this.webhooks = new SqliteWebhookStore(this.db);
    this.frontier = new SqliteFrontierStore(this.db);
    this.feed = new SqliteFeedStore(this.db);
    this.keys = new SqliteApiKeyStore(this.db);
    this.usage = new SqliteUsageStore(this.db);
  }

  private toTask(r: TaskRow, counts?: ImageCounts): Task {
    const task: Task = {
      id: r.id, kind: r.kind, url: r.url, status: r.status, refresh: r.refresh === 1, attempts: r.attempts,
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
    if (r.format !== null) task.format = r.format;
    if (r.started_at !== null) task.startedAt = r.started_at;
    if (r.finished_at !== null) task.finishedAt = r.finished_at;
    const error = parse<TaskError>(r.error);
    if (error) task.error = error;
    const page = parse<PageInfo>(r.page);
    if (page) task.page = page;
    const options = parse<ImagesTaskOptions>(r.options);
    if (options) task.options = options;
    if (r.lease_owner !== null && r.lease_until !== null) task.lease = { owner: r.lease_owner, until: r.lease_until };
    if (r.dispatch_pending_since !== null) task.dispatchPendingSince = r.dispatch_pending_since;
    if (r.kind === 'images') task.counts = counts ?? this.countsSync(r.id);
    if (r.batch_id) {
      task.batchId = r.batch_id;
      task.batchSeq = r.batch_seq ?? 0;
    }
    if (r.owner !== null) task.owner = r.owner;
    if (r.webhook !== undefined && r.webhook !== null) task.hasWebhook = r.webhook === 1;
    return task;
  }

  private countsSync(taskId: string): ImageCounts {
    return foldCounts(this.stmt.countsOf.all(taskId).map(countRow)).get(taskId) ?? emptyCounts();
  }

  private getTaskSync(id: string): Task | null {
    const row = this.stmt.getTask.get(id);
    return row ? this.toTask(row) : null;
  }

  async createTask(input: NewTask): Promise<Task> {
    const { id, ms } = newIdWithTime();
    const at = new Date(ms).toISOString();
    const row: TaskRow = {
      id, kind: input.kind, url: input.url, status: 'queued', refresh: input.refresh ? 1 : 0, format: input.format ?? null,
      attempts: 0, created_at: at, updated_at: at, started_at: null, finished_at: null, error: null, page: null, options: json(input.options),
      lease_owner: null, lease_until: null, dispatch_pending_since: at,
      owner: input.owner ?? null, webhook: input.hasWebhook ? 1 : 0,
    };
    this.stmt.insertTask.run(row);
    return this.toTask(row, input.kind === 'images' ? emptyCounts() : undefined);
  }

  async getTask(id: string): Promise<Task | null> {
    return this.getTaskSync(id);
  }

  /**
   * Read together at the end of this turn of the event loop, in one read transaction: each statement on its own
   * takes and drops a WAL read lock (two fcntl calls), most of a point read's cost, and a busy API receives
   * several GETs per turn.
   */
  getTaskHead(id: string): Promise<TaskHead | null> {
    return new Promise((resolve, reject) => {
      if (this.headReads.push({ id, resolve, reject }) === 1) setImmediate(() => this.readHeads());
    });
  }

  private headReads: Array<{ id: string; resolve: (head: TaskHead | null) => void; reject: (err: unknown) => void }> = [];

  private readHeads(): void {
    const reads = this.headReads;
    this.headReads = [];
    try {
      const heads = reads.length === 1 ? [this.headSync(reads[0]!.id)] : this.tx.deferred(() => reads.map((r) => this.headSync(r.id)));
      reads.forEach((r, i) => r.resolve(heads[i]!));
    } catch (err) {
      for (const r of reads) r.reject(err);
    }
  }

  private headSync(id: string): TaskHead | null {
    const r = this.stmt.getTaskHead.get(id);
    if (!r) return null;
    const head: TaskHead = { id, kind: r.kind, status: r.status, attempts: r.attempts, updatedAt: r.updated_at };
    if (r.owner !== null) head.owner = r.owner;
    return head;
  }

  async listTasks(query: ListTasksQuery): Promise<Page<Task>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const params: Record<string, unknown> = { kind: query.kind, limit: query.limit + 1 };
    if (query.status) params.status = query.status;
    if (query.owner !== undefined) params.owner = query.owner;
    if (after) Object.assign(params, after);
    const stmt = this.stmt.list.get(`${query.status ? 's' : ''}${after ? 'c' : ''}${query.owner !== undefined ? 'o' : ''}`)!;
    // One read snapshot for the page and its counts.
    return this.tx.deferred((): Page<Task> => {
      const page = pageOf(stmt.all(params), query.limit, (last) => encodeTaskCursor(last.created_at, last.id));
      return { ...page, items: this.toTasks(page.items) };
    });
  }

  /** Rows → tasks, image counts read in one query (a read transaction keeps them consistent with the rows). */
  private toTasks(rows: TaskRow[]): Task[] {
    const images = rows.filter((r) => r.kind === 'images').map((r) => r.id);
    const counts = this.countsForMany(images);
    return rows.map((r) => this.toTask(r, r.kind === 'images' ? counts.get(r.id) ?? emptyCounts() : undefined));
  }

  private countsForMany(ids: string[]): Map<string, ImageCounts> {
    return ids.length === 0 ? new Map() : foldCounts(this.stmt.countsOfMany.all(JSON.stringify(ids)).map(countRow));
  }

  async listUnfinished(kind?: TaskKind): Promise<Task[]> {
    return this.tx.deferred(() => this.toTasks(kind ? this.stmt.unfinishedOfKind.all(kind) : this.stmt.unfinished.all()));
  }

  async startTask(id: string, lease?: StartOptions): Promise<Task | null> {
    return this.start(id, lease);
  }

  /** One IMMEDIATE transaction for the page's tasks. */
  async startTasks(ids: readonly string[], lease: StartOptions): Promise<Map<string, Task | null>> {
    return this.tx.immediate(() => new Map([...new Set(ids)].map((id) => [id, this.start(id, lease)])));
  }

  /** startTask's answer. */
  private start(id: string, lease?: StartOptions): Task | null {
    let refusal: string | undefined;
    const res = this.updateTask(id, (task) => {
      const decision = decideStart(task, Date.now(), lease);
      refusal = typeof decision === 'string' ? decision : undefined;
      return typeof decision === 'string' ? null : decision;
    });
    return !res || refusal === 'final' ? null : this.toTask(res.row);
  }

  async renewLease(id: string, lease: LeaseRequest): Promise<boolean> {
    return this.decideAndPatch(id, (task) => decideRenew(task, Date.now(), lease));
  }

  async releaseTask(id: string, owner: string, error: TaskError): Promise<boolean> {
    return this.decideAndPatch(id, (task) => decideRelease(task, Date.now(), owner, error));
  }

  async markDispatched(ids: readonly string[]): Promise<void> {
    this.tx.immediate(() => {
      for (const id of ids) this.updateTask(id, (task) => decideDispatched(task, Date.now()));
    });
  }

  async takeUndispatched(query: { olderThanMs: number; limit: number }): Promise<Task[]> {
    return this.tx.immediate((): Task[] => {
      const nowMs = Date.now();
      const taken: TaskRow[] = [];
      for (const row of this.stmt.undispatched.all({ before: new Date(nowMs - query.olderThanMs).toISOString(), limit: query.limit })) {
        const task = this.toTask(row, emptyCounts());
        const patch = decideSweep(task, nowMs, query.olderThanMs, task.dispatchPendingSince);
        if (patch) taken.push(this.writeRow('tasks', row.id, taskColumns(patch), row));
      }
      return this.toTasks(taken);
    });
  }

  /** Whether `decide` changed the task (the record port, in one IMMEDIATE transaction). */
  private decideAndPatch(id: string, decide: (task: Task) => TaskPatch | null): boolean {
    return this.updateTask(id, decide)?.changed ?? false;
  }

  /**
   * The record port for tasks: reads the task, asks `decide` and writes its patch, in one IMMEDIATE
   * transaction (nested in the caller's when there is one). Null for an unknown task. Decisions see no
   * image counts: no rule needs them, and reading them would cost a query.
   */
  private updateTask(id: string, decide: (task: Task) => TaskPatch | null): { row: TaskRow; changed: boolean } | null {
    return this.tx.immediate(() => {
      const row = this.stmt.getTask.get(id);
      if (!row) return null;
      const patch = decide(this.toTask(row, emptyCounts()));
      return patch ? { row: this.writeRow('tasks', id, taskColumns(patch), row), changed: true } : { row, changed: false };
    });
  }

  /** The record port for images: as updateTask, on the image `row` already read in the caller's transaction. */
  private updateImageRow(row: ImageRow, decide: (image: ImageRecord) => ImagePatch | null): { image: ImageRecord; changed: boolean } {
    const image = toImage(row);
    const patch = decide(image);
    if (!patch) return { image, changed: false };
    this.writeRow('images', row.id, imageColumns(patch), row);
    return { image: applyImagePatch(image, patch), changed: true };
  }

  /** UPDATE of the given columns by id (one prepared statement per column set); the row as written. */
  private writeRow<R extends object>(table: 'tasks' | 'images', id: string, columns: Record<string, unknown>, before: R): R {
    const names = Object.keys(columns).sort();
    const sql = `UPDATE ${table} SET ${names.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`;
    let stmt = this.patchStatements.get(sql);
    if (!stmt) this.patchStatements.set(sql, (stmt = this.db.prepare<[Record<string, unknown>], never>(sql)));
    // run(), not get(): a write's failed autocommit must throw (see written()).
    if (stmt.run({ ...columns, id }).changes !== 1) throw new Error(`unknown ${table === 'tasks' ? 'task' : 'image'} ${id}`);
    return { ...before, ...columns };
  }

  async saveText(id: string, text: string): Promise<void> {
    this.tx.immediate(() => {
      if (!this.stmt.getTask.get(id)) throw new Error(`unknown task ${id}`);
      this.stmt.saveText.run(id, text);
    });
  }

  async getText(id: string): Promise<string | null> {
    return this.stmt.getText.get(id)?.text ?? null;
  }

  async finishTask(id: string, result: FinishResult, owner?: string): Promise<Task | null> {
    const res = this.updateTask(id, (task) => decideFinish(task, result, owner, Date.now()));
    return res ? this.toTask(res.row) : null;
  }

  async claimImage(sourceUrl: string, options: ClaimOptions): Promise<ClaimResult> {
    return (await this.claimImages([sourceUrl], options))[0]!;
  }

  async claimImages(sourceUrls: readonly string[], options: ClaimOptions): Promise<ClaimResult[]> {
    return this.tx.immediate(() => sourceUrls.map((url) => this.claimSync(url, options)));
  }

  /** Looked up by source URL, which also finds images stored before ids were derived from it. */
  private claimSync(sourceUrl: string, options: ClaimOptions): ClaimResult {
    const nowMs = Date.now();
    const row = this.stmt.imageByUrl.get(sourceUrl);
    if (!row) {
      const fresh = newImageClaim(sourceUrl, options, nowMs);
      const inserted = written(this.stmt.insertImage, { id: fresh.id, url: sourceUrl, owner: options.taskId, now: fresh.updatedAt });
      return claimResult(toImage(inserted!), true);
    }
    const { image, changed } = this.updateImageRow(row, (img) => decideClaim(img, options, nowMs));
    return claimResult(image, changed);
  }

  async completeImage(imageId: string, ownerTaskId: string, completion: ImageCompletion): Promise<ImageRecord> {
    return this.updateImage(imageId, (img) => decideCompletion(img, ownerTaskId, completion, Date.now())).image;
  }

  async releaseImage(imageId: string, ownerTaskId: string): Promise<ImageRecord> {
    return this.updateImage(imageId, (img) => decideImageRelease(img, ownerTaskId, Date.now())).image;
  }

  /** The image record port by id, in one IMMEDIATE transaction; throws for an unknown image. */
  private updateImage(imageId: string, decide: (image: ImageRecord) => ImagePatch | null): { image: ImageRecord; changed: boolean } {
    return this.tx.immediate(() => {
      const row = this.stmt.imageById.get(imageId);
      if (!row) throw new Error(`unknown image ${imageId}`);
      return this.updateImageRow(row, decide);
    });
  }

  async settleImages(items: readonly ImageSettlement[]): Promise<SettledImage[]> {
    return this.tx.immediate(() => items.map(({ link, completion }): SettledImage => {
      if (completion) {
        const row = this.stmt.imageById.get(link.imageId);
        if (!row) return { image: null, linked: false };
        const { image, changed } = this.updateImageRow(row, (img) => decideCompletion(img, link.taskId, completion, Date.now()));
        if (!changed) return { image, linked: false };
        this.linkSync(link);
        return { image, linked: true };
      }
      this.linkSync(link);
      return { image: null, linked: true };
    }));
  }

  async getImage(imageId: string): Promise<ImageRecord | null> {
    const row = this.stmt.imageById.get(imageId);
    return row ? toImage(row) : null;
  }

  async linkImage(link: ImageLink): Promise<void> {
    this.linkSync(link);
  }

  private linkSync(link: ImageLink): void {
    this.stmt.linkImage.run({
      taskId: link.taskId, position: link.position, sourceUrl: link.sourceUrl, imageId: link.imageId,
      outcome: link.outcome, error: json(link.error), details: json(link.details),
    });
  }

  async listTaskImages(taskId: string, query: { limit: number; cursor?: string }): Promise<Page<TaskImage>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? -1 : decodePositionCursor(query.cursor);
    const rows = this.stmt.listTaskImages.all({ taskId, after, limit: query.limit + 1 }).map(toTaskImage);
    return pageOf(rows, query.limit, (last) => encodePositionCursor(last.position));
  }

  async listImagesOfTasks(taskIds: readonly string[]): Promise<Map<string, TaskImage[]>> {
    return groupByTask(taskIds, this.stmt.listImagesOfTasks.all(JSON.stringify(taskIds)).map(toTaskImage));
  }

  async getTaskImage(taskId: string, imageId: string): Promise<TaskImage | null> {
    const row = this.stmt.getTaskImage.get(taskId, imageId);
    return row ? toTaskImage(row) : null;
  }

  async imageCounts(taskId: string): Promise<ImageCounts> {
    return this.countsSync(taskId);
  }

  async clearTaskImages(taskId: string): Promise<void> {
    this.stmt.clearTaskImages.run(taskId);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating it and its directory when missing) the store at `file`; ':memory:' for a private in-memory one. */
export function openSqliteTaskStore(file: string): SqliteTaskStore {
  return new SqliteTaskStore(file);
}
