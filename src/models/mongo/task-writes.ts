/**
 * The task inserts and task updates of one process, group-committed (util/group-commit.ts): the inserts
 * that arrive together are one unordered `insertMany`, the updates one Revisions.updateEach (one ticket
 * insert and one `update` command for them all). Each caller is answered by its own document's outcome.
 *
 * Why: the cluster's per-task commands are mostly single-document task writes (an API's insert per POST, a
 * worker's ticket and update per start and per finish), and each costs ~1 ms of driver CPU here and more in
 * FerretDB whatever it carries. What keeps an update exclusive is unchanged: each document still moves from
 * r to r + 1 only under its own ticket r + 1 (revision.ts), decided by its own caller's rule; a document whose
 * ticket is held, or that moved on, goes on alone through Revisions.update, exactly as an update of its own.
 */
import type { Collection, Model } from 'mongoose';
import { GroupCommit, type ItemOutcomes } from '../../util/group-commit.js';
import { BULK_STATEMENTS, type Change, type Revisions } from './revision.js';
import { insertUnordered } from './write-errors.js';
import type { TaskDoc } from './task-model.js';

/** One caller's decision on one task (Revisions.update's `decide`). */
interface TaskUpdate {
  id: string;
  decide: (doc: TaskDoc) => Change | null;
}

/** Revisions.update's answer: the task as it stands after, and whether this decision changed it; null: no such task. */
export type TaskUpdated = { doc: TaskDoc; changed: boolean } | null;

/** A write error of one document in an unordered bulk insert, with the code isDuplicateKey reads. */
export class DocumentWriteError extends Error {
  constructor(message: string, readonly code: unknown) {
    super(message);
    this.name = 'DocumentWriteError';
  }
}

/**
 * Inserts `docs` in one unordered command: the outcome of each, in order (a document refused, e.g. a duplicate
 * `_id`, fails alone). A command that fails as a whole (no per-document errors) throws.
 */
export async function insertEach<D>(collection: Collection, docs: readonly D[]): Promise<ItemOutcomes<void>> {
  const ok = Promise.resolve();
  const byIndex = new Map((await insertUnordered(collection, docs, { expected: () => true, ignoreUndefined: true })).map((e) => [e.index, e]));
  return docs.map((_, i) => {
    const e = byIndex.get(i);
    if (!e) return ok;
    const refused = Promise.reject(new DocumentWriteError(e.message, e.code));
    refused.catch(() => {}); // handled by its caller, a moment later (GroupCommit)
    return refused;
  });
}

export class TaskWrites {
  private readonly inserts: GroupCommit<TaskDoc, void>;
  private readonly updates: GroupCommit<TaskUpdate, TaskUpdated>;

  constructor(tasks: Model<TaskDoc>, revisions: Revisions) {
    this.inserts = new GroupCommit((docs) => insertEach(tasks.collection, docs), { max: BULK_STATEMENTS });
    // One decision per task in a write (its key): a second one for the same task decides on what the first left.
    this.updates = new GroupCommit(async (items) => {
      const decides = new Map(items.map((u) => [u.id, u.decide]));
      const { results, later } = await revisions.updateEach('tasks', tasks, [...decides.keys()], (d) => decides.get(d._id)!(d));
      // A task that goes on alone (its ticket held, or it moved on) answers its caller when done, holding up no other.
      return items.map((u) => later.get(u.id) ?? Promise.resolve(results.get(u.id) ?? null));
    }, { max: BULK_STATEMENTS, key: (u) => u.id });
  }

  /** Stores a new task document, with the other inserts of the moment. */
  insert(doc: TaskDoc): Promise<void> {
    return this.inserts.submit(doc);
  }

  /** Revisions.update of one task, with the other task updates of the moment. */
  update(id: string, decide: (doc: TaskDoc) => Change | null): Promise<TaskUpdated> {
    return this.updates.submit({ id, decide });
  }

  /** Resolves once every write submitted so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([this.inserts.idle(), this.updates.idle()]);
  }
}
