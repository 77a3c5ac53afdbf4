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
  ClaimResult, ImageCounts, ImageOutcome, ImageRecord, NewTask, Page, Task, TaskError, TaskHead, TaskImage, TaskKind,
} from '../task.js';
import type {
  ClaimOptions, ImageCompletion, ImageLink, ImageSettlement, ListTasksQuery, SettledImage, TaskStore,
} from '../task-store.js';
import { MongoBatchStore } from './mongo-batch-store.js';
import { MongoWebhookStore } from './mongo-webhook-store.js';
import type { ImageDoc } from './image-model.js';
import {
  decideDispatched, decideRelease, decideRenew, decideStart, decideSweep,
  type LeaseRequest, type StartOptions, type StartRefusal, type TaskPatch,
} from '../task-lease-rules.js';
import {
  claimResult, decideClaim, decideCompletion, decideFinish, decideImageRelease, emptyCounts, foldCounts,
  mayHaveLinks, newImageClaim, type FinishResult, type ImagePatch,
} from '../task-rules.js';
import { checkPageLimit, pageOf } from '../paging.js';
import { groupByTask } from '../task-store.js';
import { imageChange, taskChange, toImage, toTask, toTaskImage } from './mapping.js';
import { bindModels, ensureIndexes, type Models } from './models.js';
import type { ApiKeyStore, RateCellStore, UsageStore } from '../ops-store.js';
import { MongoApiKeyStore, MongoRateCellStore, MongoUsageStore } from './mongo-ops-store.js';
import { MongoFeedStore } from './mongo-feed-store.js';
import { MongoFrontierStore } from './mongo-frontier-store.js';
import { LinkTallies } from './link-tallies.js';
import { BULK_STATEMENTS, Revisions, type Change } from './revision.js';
import { insertUnordered, isDuplicateKey } from './write-errors.js';
import { taskImageId, type TaskImageDoc } from './task-image-model.js';
import type { TaskDoc } from './task-model.js';
import { TaskWrites, type TaskUpdated } from './task-writes.js';

const UNFINISHED = ['queued', 'running'] as const;

/** Image ids remembered as existing, per process (a few MB at most). */
const KNOWN_IMAGES_MAX = 65_536;

/**
 * Ids of documents this process saw exist, the oldest forgotten past `max`. Only existence is remembered, never a
 * state: a claim still reads and decides on every image it does not insert, exactly as after a refused insert.
 * Wrong only if a document is removed (nothing removes images today); the claim then finds it gone, forgets
 * it and inserts it after all.
 */
class KnownIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}

/** An image document as first claimed (the rule's record, with Dates and a revision). */
function freshImageDoc(image: ImageRecord): ImageDoc {
  const at = new Date(image.updatedAt);
  return { _id: image.id, sourceUrl: image.sourceUrl, status: 'pending', ownerTaskId: image.ownerTaskId, claimedAt: at, updatedAt: at, rev: 0 };
}

/** A link as an upsert of its (task, position) document. */
function linkUpdate(link: ImageLink): Record<string, unknown> {
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
  return update;
}

/** A link as the document its upsert makes of a missing key. */
function linkDoc(link: ImageLink): TaskImageDoc {
  const doc: TaskImageDoc = {
    _id: taskImageId(link.taskId, link.position), taskId: link.taskId, position: link.position, sourceUrl: link.sourceUrl,
    imageId: link.imageId, outcome: link.outcome,
  };
  if (link.error) doc.error = link.error;
  if (link.details) doc.details = link.details;
  return doc;
}

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

/** decideStart as a revision decision, remembering by task what the last decision on it saw (it may run several times). */
class StartDecisions {
  readonly refusals = new Map<string, StartRefusal>();
  /** Tasks whose last decision was on a document that could have no links yet. */
  readonly firstRuns = new Set<string>();

  constructor(private readonly lease?: StartOptions) {}

  readonly decide = (t: TaskDoc): Change | null => {
    const decision = decideStart(toTask(t), Date.now(), this.lease);
    if (typeof decision === 'string') this.refusals.set(t._id, decision);
    else this.refusals.delete(t._id);
    if (mayHaveLinks(t)) this.firstRuns.delete(t._id);
    else this.firstRuns.add(t._id);
    return typeof decision === 'string' ? null : taskChange(decision);
  };
}

export class MongoTaskStore implements TaskStore {
  private readonly revisions: Revisions;
  /** Task inserts and updates, group-committed with the others of the moment (one command for several). */
  private readonly taskWrites: TaskWrites;
  /** Counts of the links written by the runs this process started first (finishTask needs no $group then). */
  private readonly tallies = new LinkTallies();
  /** Images this process saw exist (a claim's insert or its refusal): their next claim skips the insert. */
  private readonly knownImages = new KnownIds(KNOWN_IMAGES_MAX);
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
    this.taskWrites = new TaskWrites(m.tasks, this.revisions);
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
    // Kept whether or not given (false when not): a worker then knows the task has no endpoint without a read.
    doc.webhook = input.hasWebhook === true;
    // The driver's insert (mongoose's create would cast and validate what is already typed), with the other
    // inserts of the moment (concurrent POSTs): one command for them all, each answered by its own document.
    await this.taskWrites.insert(doc);
    this.revisions.inserted('tasks', doc); // its dispatch receipt, written by this process, needs no read
    return toTask(doc);
  }

  async getTask(id: string): Promise<Task | null> {
    const doc = await this.m.tasks.findById(id).lean<TaskDoc>().exec();
    return doc ? this.withCounts(doc) : null;
  }

  /** Only the head's fields: no image counts (an images task's `$group`) and less to decode than the whole task. */
  async getTaskHead(id: string): Promise<TaskHead | null> {
    const doc = await this.m.tasks.collection.findOne(
      { _id: id } as never,
      { projection: { kind: 1, status: 1, attempts: 1, updatedAt: 1, owner: 1 } },
    ) as Pick<TaskDoc, '_id' | 'kind' | 'status' | 'attempts' | 'updatedAt' | 'owner'> | null;
    if (!doc) return null;
    const head: TaskHead = { id: doc._id, kind: doc.kind, status: doc.status, attempts: doc.attempts, updatedAt: new Date(doc.updatedAt).toISOString() };
    if (doc.owner) head.owner = doc.owner;
    return head;
  }

  async listTasks(query: ListTasksQuery): Promise<Page<Task>> {
    checkPageLimit(query.limit);
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
    const page = pageOf(docs, query.limit, (last) => encodeTaskCursor(new Date(last.createdAt).toISOString(), last._id));
    return { ...page, items: await this.withCountsMany(page.items) };
  }

  async listUnfinished(kind?: TaskKind): Promise<Task[]> {
    const filter: Record<string, unknown> = { status: { $in: UNFINISHED } };
    if (kind) filter.kind = kind;
    const docs = await this.m.tasks.find(filter).sort({ createdAt: 1, _id: 1 }).lean<TaskDoc[]>().exec();
    return this.withCountsMany(docs);
  }

  async startTask(id: string, lease?: StartOptions): Promise<Task | null> {
    const decisions = new StartDecisions(lease);
    // With the other task updates of the moment (other jobs' starts and finishes): see TaskWrites.
    const res = await this.taskWrites.update(id, decisions.decide);
    return this.started(id, res, decisions);
  }

  /**
   * The page's tasks read together (a find each, sent at once), then started in one Revisions.updateMany: one
   * ticket insert and one update command for them all, where startTask costs both per task.
   */
  async startTasks(ids: readonly string[], lease: StartOptions): Promise<Map<string, Task | null>> {
    const unique = [...new Set(ids)];
    const read = new Map((await this.revisions.readMany(this.m.tasks, unique)).map((d) => [d._id, d]));
    const decisions = new StartDecisions(lease);
    const res = await this.revisions.updateMany('tasks', this.m.tasks, unique, decisions.decide, read);
    const out = new Map<string, Task | null>();
    for (const id of unique) out.set(id, await this.started(id, res.get(id) ?? null, decisions));
    return out;
  }

  /** startTask's answer from the start's write (null: no such task). */
  private async started(id: string, res: TaskUpdated, decisions: StartDecisions): Promise<Task | null> {
    if (!res || decisions.refusals.get(id) === 'final') return null;
    // A task starting its first run has no links to count (mayHaveLinks); what this run links is tallied.
    if (res.changed && decisions.firstRuns.has(id) && res.doc.kind === 'images') {
      this.tallies.begin(id, res.doc.attempts);
      return toTask(res.doc, emptyCounts());
    }
    if (res.changed) this.tallies.drop(id);
    return this.withCounts(res.doc);
  }

  async renewLease(id: string, lease: LeaseRequest): Promise<boolean> {
    return this.decideAndPatch(id, (task) => decideRenew(task, Date.now(), lease));
  }

  async releaseTask(id: string, owner: string, error: TaskError): Promise<boolean> {
    this.tallies.drop(id);
    return this.decideAndPatch(id, (task) => decideRelease(task, Date.now(), owner, error));
  }

  async markDispatched(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // One read of them all; only those still queued and pending are written (a started task was cleared by its start).
    await this.revisions.updateMany('tasks', this.m.tasks, ids, (t) => {
      const patch = decideDispatched(toTask(t), Date.now());
      return patch && taskChange(patch);
    });
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
    return (await this.updateTask(id, decide))?.changed ?? false;
  }

  /**
   * The record port for tasks: decide on the task, save its patch through a revision ticket, with the other
   * task updates of the moment (TaskWrites: a worker's finishes that come together are one write). Null: unknown task.
   */
  private updateTask(id: string, decide: (task: Task) => TaskPatch | null): Promise<TaskUpdated> {
    return this.taskWrites.update(id, (t) => {
      const patch = decide(toTask(t));
      return patch && taskChange(patch);
    });
  }

  /** The record port for images, by id, as updateTask. */
  private updateImage(id: string, decide: (image: ImageRecord) => ImagePatch | null): Promise<{ doc: ImageDoc; changed: boolean } | null> {
    return this.revisions.update('images', this.m.images, id, (d) => {
      const patch = decide(toImage(d));
      return patch && imageChange(patch);
    });
  }

  /** The record port for many images at once (Revisions.updateMany). */
  private updateImages(
    ids: readonly string[], decide: (image: ImageRecord) => ImagePatch | null,
  ): Promise<Map<string, { doc: ImageDoc; changed: boolean }>> {
    return this.revisions.updateMany('images', this.m.images, ids, (d) => {
      const patch = decide(toImage(d));
      return patch && imageChange(patch);
    });
  }

  async saveText(id: string, text: string): Promise<void> {
    // A task this process started or wrote needs no check (the worker saving its text has just started it).
    if (!this.revisions.wrote('tasks', id) && !(await this.m.tasks.exists({ _id: id }).exec())) throw new Error(`unknown task ${id}`);
    const utf8 = Buffer.from(text, 'utf8');
    // An insert first: a task's first text (the common case) then costs FerretDB no read of the texts; a text
    // saved again (a retried run) is there, and is replaced by the upsert.
    try {
      await this.m.texts.collection.insertOne({ _id: id, utf8 } as never);
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    await upsert(() => this.m.texts.updateOne({ _id: id }, { $set: { utf8 }, $unset: { text: 1 } }, { upsert: true }).exec());
  }

  async getText(id: string): Promise<string | null> {
    const doc = await this.m.texts.findById(id).lean().exec();
    if (!doc) return null;
    // Both a Buffer and the driver's `Binary` (what `lean()` gives for BSON binary) decode with toString('utf8').
    return doc.utf8 ? doc.utf8.toString('utf8') : (doc.text ?? '');
  }

  async finishTask(id: string, result: FinishResult, owner?: string): Promise<Task | null> {
    const res = await this.updateTask(id, (task) => decideFinish(task, result, owner, Date.now()));
    if (!res) return null;
    // The final write applied at the attempt this process began tallying: only its run wrote the task's links.
    const tally = res.changed && res.doc.kind === 'images' ? this.tallies.take(id, res.doc.attempts) : undefined;
    return tally ? toTask(res.doc, tally) : this.withCounts(res.doc);
  }

  async claimImage(sourceUrl: string, options: ClaimOptions): Promise<ClaimResult> {
    return (await this.claimImages([sourceUrl], options))[0]!;
  }

  /**
   * One unordered insert of every image as a new claim: a new image (the common case) costs no read. Those
   * that exist fail with a duplicate key, and the claim rule decides on them through Revisions.updateMany.
   */
  async claimImages(sourceUrls: readonly string[], options: ClaimOptions): Promise<ClaimResult[]> {
    const urls = [...new Set(sourceUrls)];
    if (urls.length === 0) return [];
    const nowMs = Date.now();
    const fresh = urls.map((u) => newImageClaim(u, options, nowMs));
    const docs = fresh.map(freshImageDoc);
    const all = fresh.map((_, i) => i);
    // Images this process knows exist are not offered to the insert (KnownIds): it would only refuse them, and
    // FerretDB v1 answers an insert with any refusal by inserting every document again one by one.
    const skipped = new Set(all.filter((i) => this.knownImages.has(fresh[i]!.id)));
    const offered = all.filter((i) => !skipped.has(i));
    const lost = new Set(skipped); // there already: claimed by the rule below
    if (offered.length > 0) {
      const refused = await insertUnordered(this.m.images.collection, offered.map((i) => docs[i]!));
      for (const e of refused) lost.add(offered[e.index]!);
    }
    const results = new Map<string, ClaimResult>();
    for (const i of all) {
      this.knownImages.add(fresh[i]!.id); // inserted now, refused as there already, or known before
      if (lost.has(i)) continue;
      this.revisions.inserted('images', docs[i]!);
      results.set(fresh[i]!.sourceUrl, claimResult(fresh[i]!, true));
    }
    const rest = all.filter((i) => lost.has(i));
    /** Known but not found (an image removed behind this process's back): offered to the insert after all. */
    const gone: number[] = [];
    if (rest.length > 0) {
      const decided = await this.updateImages(rest.map((i) => fresh[i]!.id), (img) => decideClaim(img, options, Date.now()));
      for (const i of rest) {
        const { id, sourceUrl } = fresh[i]!;
        const res = decided.get(id);
        if (res) results.set(sourceUrl, claimResult(toImage(res.doc), res.changed));
        else if (skipped.has(i)) gone.push(i);
        else throw new Error(`image vanished during claim: ${sourceUrl}`);
      }
    }
    if (gone.length > 0) {
      for (const i of gone) this.knownImages.delete(fresh[i]!.id);
      const urlsGone = gone.map((i) => fresh[i]!.sourceUrl);
      const again = await this.claimImages(urlsGone, options);
      urlsGone.forEach((url, k) => results.set(url, again[k]!));
    }
    return sourceUrls.map((u) => results.get(u)!);
  }

  async completeImage(imageId: string, ownerTaskId: string, completion: ImageCompletion): Promise<ImageRecord> {
    const res = await this.updateImage(imageId, (img) => decideCompletion(img, ownerTaskId, completion, Date.now()));
    if (!res) throw new Error(`unknown image ${imageId}`);
    return toImage(res.doc);
  }

  async releaseImage(imageId: string, ownerTaskId: string): Promise<ImageRecord> {
    const res = await this.updateImage(imageId, (img) => decideImageRelease(img, ownerTaskId, Date.now()));
    if (!res) throw new Error(`unknown image ${imageId}`);
    return toImage(res.doc);
  }

  /**
   * The completions through Revisions.updateMany, then the links of those that applied (and of those with
   * nothing to complete) in one unordered bulk upsert. One completion per image: a second one for the same
   * image in the batch (the task listed it twice) finds the claim already completed, as it would one by one.
   */
  async settleImages(items: readonly ImageSettlement[]): Promise<SettledImage[]> {
    const completions = new Map<string, { owner: string; completion: ImageCompletion }>();
    for (const { link, completion } of items) {
      if (completion && !completions.has(link.imageId)) completions.set(link.imageId, { owner: link.taskId, completion });
    }
    const decided = completions.size === 0 ? new Map<string, { doc: ImageDoc; changed: boolean }>()
      : await this.updateImages([...completions.keys()], (img) => {
        const c = completions.get(img.id)!;
        return decideCompletion(img, c.owner, c.completion, Date.now());
      });
    const applied = new Set<string>();
    const settled = items.map(({ link, completion }): SettledImage => {
      if (!completion) return { image: null, linked: true };
      const res = decided.get(link.imageId);
      // Only the first completion of an image in the batch can be the one that applied.
      const first = res?.changed === true && !applied.has(link.imageId);
      if (first) applied.add(link.imageId);
      return { image: res ? toImage(res.doc) : null, linked: first };
    });
    await this.writeLinks(items.filter((_, i) => settled[i]!.linked).map((it) => it.link));
    return settled;
  }

  /**
   * Links are written as one unordered insert: a position not linked yet (the common case: a run starts with
   * none) costs FerretDB no read, where an upsert reads first, statement by statement. Those already there (a
   * position linked again) fail with a duplicate key and are upserted, BULK_STATEMENTS per command.
   */
  private async writeLinks(links: readonly ImageLink[]): Promise<void> {
    if (links.length === 0) return;
    let again: ImageLink[];
    try {
      again = (await insertUnordered(this.m.taskImages.collection, links.map(linkDoc))).map((e) => links[e.index]!);
    } catch (err) {
      for (const link of links) this.tallies.drop(link.taskId); // some may have been written: uncounted
      throw err;
    }
    const relinked = new Set(again);
    for (const link of links) {
      // A position linked again replaces an outcome the tally cannot take back.
      if (relinked.has(link)) this.tallies.drop(link.taskId);
      else this.tallies.add(link.taskId, link.outcome);
    }
    for (let i = 0; i < again.length; i += BULK_STATEMENTS) {
      const ops = again.slice(i, i + BULK_STATEMENTS)
        .map((link) => ({ updateOne: { filter: { _id: taskImageId(link.taskId, link.position) }, update: linkUpdate(link), upsert: true } }));
      // Two upserts of one new key may both insert and one fail with a duplicate key; then the key exists and a rerun matches it.
      await upsert(() => this.m.taskImages.bulkWrite(ops as Parameters<Models['taskImages']['bulkWrite']>[0], { ordered: false }));
    }
  }

  async getImage(imageId: string): Promise<ImageRecord | null> {
    const doc = await this.m.images.findById(imageId).lean<ImageDoc>().exec();
    return doc ? toImage(doc) : null;
  }

  async linkImage(link: ImageLink): Promise<void> {
    await this.writeLinks([link]);
  }

  async listTaskImages(taskId: string, query: { limit: number; cursor?: string }): Promise<Page<TaskImage>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? -1 : decodePositionCursor(query.cursor);
    const docs = await this.m.taskImages.find({ taskId, position: { $gt: after } }).sort({ position: 1 })
      .limit(query.limit + 1).lean<TaskImageDoc[]>().exec();
    const page = pageOf(docs, query.limit, (last) => encodePositionCursor(last.position));
    return { ...page, items: await this.withFiles(page.items) };
  }

  async listImagesOfTasks(taskIds: readonly string[]): Promise<Map<string, TaskImage[]>> {
    const docs = taskIds.length === 0 ? [] : await this.m.taskImages.find({ taskId: { $in: taskIds } }).sort({ taskId: 1, position: 1 }).lean<TaskImageDoc[]>().exec();
    return groupByTask(taskIds, await this.withFiles(docs));
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
    this.tallies.drop(taskId);
    await this.m.taskImages.deleteMany({ taskId }).exec();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.taskWrites.idle();
    await this.revisions.flush();
    await this.conn.close();
  }

  /** Zeros, uncounted, for a task that has not run (mayHaveLinks): a queued images task costs no $group. */
  private async withCounts(doc: TaskDoc): Promise<Task> {
    return mayHaveLinks(doc) ? toTask(doc, await this.imageCounts(doc._id)) : toTask(doc);
  }

  private async withCountsMany(docs: TaskDoc[]): Promise<Task[]> {
    const counts = await this.countsFor(docs.filter(mayHaveLinks).map((d) => d._id));
    return docs.map((d) => toTask(d, counts.get(d._id)));
  }

  /**
   * One $group per task, over its links matched by equality, sent together: FerretDB v1 answers `taskId: X`
   * from the index and `taskId: {$in: [...]}` by scanning every link of every task ($lookup it lacks).
   */
  private async countsFor(taskIds: string[]): Promise<Map<string, ImageCounts>> {
    const rows = await Promise.all([...new Set(taskIds)].map(async (taskId) => {
      const groups = await this.m.taskImages.aggregate<{ _id: ImageOutcome; n: number }>([
        { $match: { taskId } },
        { $group: { _id: '$outcome', n: { $sum: 1 } } },
      ]).exec();
      return groups.map((g) => ({ taskId, outcome: g._id, n: g.n }));
    }));
    return foldCounts(rows.flat());
  }

  /** Fills each link's file from its image record: reads by `_id` (FerretDB v1 has no $lookup, and scans for `$in`). */
  private async withFiles(docs: TaskImageDoc[]): Promise<TaskImage[]> {
    const ids = [...new Set(docs.filter((d) => d.outcome === 'stored' || d.outcome === 'reused').map((d) => d.imageId))];
    const images = await this.revisions.readMany(this.m.images, ids);
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
  // Commands in flight per process, unless the URL says otherwise: the driver's default of 100 lets one
  // process's parallel writes (a page's images, a batch's receipts) swamp a small server, and FerretDB v1
  // deadlocks when more commands arrive at once than it has PostgreSQL connections (scripts/services.sh).
  if (!/[?&]maxPoolSize=/i.test(url)) connectOptions.maxPoolSize = 16;
  if (options.dbName) connectOptions.dbName = options.dbName;
  // Mongoose otherwise formats a stack trace (new Error().stack) at every query it runs, only to name where a
  // query object run twice was first run; none is run twice here, and a list read paid ~30 µs for it.
  mongoose.set('skipOriginalStackTraces', true);
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
