/**
 * Compare-and-set for documents that several processes update (task status, image claims).
 *
 * Why not a conditional `findOneAndUpdate({_id, status: 'failed'}, …)`: FerretDB v1 evaluates the filter on
 * a read and then rewrites the document by `_id` alone (no transaction between them), so two concurrent
 * conditional updates of one document can both succeed (measured: 12 of 20 rounds of 20 racers had several
 * winners). What FerretDB does make atomic is an insert against a unique index. So every update of a
 * revisioned document goes:
 *
 *   read the document at revision r → decide → insert the ticket `scope/id/r+1` (unique `_id`; a duplicate
 *   key means someone else is updating it: wait and start over) → write with rev r+1 where `{_id, rev: r}`
 *   (a ticket is deleted after use, so a reader that saw r long ago could re-insert it: its write then
 *   matches nothing, and it reads again) → delete the ticket (soon after, many in one command: SpentTickets).
 *
 * Only the holder of ticket r+1 can move the document from r to r+1, so FerretDB's non-atomic filter is
 * enough here: nobody else writes the document between its read and its write. A ticket left behind by a
 * process that died between insert and delete is cleared once older than TICKET_STALE_MS. On a real
 * MongoDB this costs a few round trips and is equally correct.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Schema } from 'mongoose';
import type { Model, UpdateQuery } from 'mongoose';
import { insertUnordered, isDuplicateKey } from './write-errors.js';

export interface TicketDoc {
  /** `${scope}/${documentId}/${revision}` */
  _id: string;
  at: Date;
}

export const ticketSchema = new Schema<TicketDoc>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, id: false, strict: true },
);

export interface Revisioned {
  _id: string;
  rev: number;
  /** Who wrote this revision, when it was written in a batch (updateMany reads it back to tell which applied). */
  stamp?: string;
}

/** Top-level fields to set and to remove. */
export interface Change {
  set: Record<string, unknown>;
  unset?: readonly string[];
}

/** A ticket older than this belongs to a dead process (an update holds one for a few ms). */
export const TICKET_STALE_MS = 30_000;
/** Give up on an update contended for this long. */
const MAX_WAIT_MS = 60_000;

/** The document after `change` at revision `rev` (a stamp stays until the next batch write replaces it: each is unique). */
export function applyChange<D extends Revisioned>(doc: D, change: Change, rev: number, stamp?: string): D {
  const next: Record<string, unknown> = { ...(doc as object), ...change.set, rev, ...(stamp ? { stamp } : {}) };
  for (const key of change.unset ?? []) delete next[key];
  return next as D;
}

export function toUpdate<D>(change: Change, rev: number, stamp?: string): UpdateQuery<D> {
  const update: Record<string, unknown> = { $set: { ...change.set, rev, ...(stamp ? { stamp } : {}) } };
  if (change.unset && change.unset.length > 0) {
    update.$unset = Object.fromEntries(change.unset.map((k) => [k, '']));
  }
  return update as UpdateQuery<D>;
}

/**
 * The documents this process wrote last (by scope and id, the newest RECENT_MAX), used as the first guess
 * of an update instead of a read. A guess is safe because the write checks it: it applies only if the
 * document is still at the guessed revision (under the ticket of the next one), else the update reads and
 * decides again. The winning case is common: a worker finishes the task it started, completes the images
 * it claimed, an API records the dispatch of the task it created; each saves one read.
 */
class Recent {
  private readonly docs = new Map<string, Revisioned>();

  constructor(private readonly max: number) {}

  get<D extends Revisioned>(scope: string, id: string): D | undefined {
    return this.docs.get(`${scope}/${id}`) as D | undefined;
  }

  set<D extends Revisioned>(scope: string, doc: D): D {
    const key = `${scope}/${doc._id}`;
    this.docs.delete(key); // to the back of the eviction order
    this.docs.set(key, doc);
    if (this.docs.size > this.max) this.docs.delete(this.docs.keys().next().value!);
    return doc;
  }

  /** A guess that proved wrong (the document moved on): the next update reads. */
  forget(scope: string, id: string): void {
    this.docs.delete(`${scope}/${id}`);
  }
}

const RECENT_MAX = 4096;

/**
 * Statements per bulk command at most. FerretDB v1 (PostgreSQL) holds a connection for each statement of a
 * command until the command ends: a batch's 400 dispatch receipts in one command took all 150 of its pool and
 * deadlocked it for good (the scaleout bench). Small commands keep it far below its pool.
 */
export const BULK_STATEMENTS = 32;

/**
 * Tickets whose write is done, deleted in batches a little later: one statement for all the updates of
 * SPENT_FLUSH_MS instead of one per update. A spent ticket left in place is harmless: only a reader that
 * saw the revision before it can ask for it again, and that reader backs off and reads again, finding the
 * next revision (whose ticket is free). Tickets of a process that dies first are cleared as stale, by
 * the next flush of any process.
 *
 * One `deleteMany` by `$in`: FerretDB v1 answers it by reading every ticket (an `$in` is not pushed down),
 * which costs little because tickets live for milliseconds: the collection holds the updates in flight and
 * those awaiting a flush. A `deleteOne` per ticket costs FerretDB a read and a delete statement each
 * (measured: ~0.8 ms of FerretDB and PostgreSQL CPU per ticket, against ~20 µs per ticket read by a scan).
 */
class SpentTickets {
  private readonly ids: string[] = [];
  private flushing?: Promise<void>;
  private readonly waits = new Set<AbortController>();

  constructor(private readonly tickets: Model<TicketDoc>, private readonly delayMs: number) {}

  add(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.ids.push(...ids);
    this.flushing ??= this.drain();
  }

  /** Deletes now, and resolves once every ticket added so far is deleted (or failed to be: then it is cleared as stale). */
  async flush(): Promise<void> {
    for (const wait of this.waits) wait.abort();
    await this.flushing;
  }

  private async drain(): Promise<void> {
    const wait = new AbortController();
    this.waits.add(wait);
    await sleep(this.delayMs, undefined, { signal: wait.signal }).catch(() => undefined);
    this.waits.delete(wait);
    while (this.ids.length > 0) {
      const batch = this.ids.splice(0, SPENT_PER_DELETE);
      const stale = new Date(Date.now() - TICKET_STALE_MS);
      await this.tickets.collection.deleteMany({ $or: [{ _id: { $in: batch } }, { at: { $lt: stale } }] } as never).catch(() => undefined);
    }
    this.flushing = undefined;
  }
}

/**
 * Longer means fewer delete commands; the scan each one costs grows with the tickets awaiting it, so the
 * scanning per second stays the same.
 */
const SPENT_FLUSH_MS = 1000;
/** Ticket ids in one delete's `$in` at most. */
const SPENT_PER_DELETE = 1000;

/**
 * Reads and writes go through the driver's collection, not mongoose's query layer: the documents and changes
 * here are already in their stored types (Dates as Dates), so casting and hydrating would only cost CPU on
 * the busiest path of a worker. Writes keep the driver's defaults, as mongoose's updates do (an undefined
 * value inside an object is stored as null).
 */
export class Revisions {
  private readonly recent = new Recent(RECENT_MAX);
  private readonly spent: SpentTickets;
  /** This process's part of a batch write's stamp, and its count of batch writes. */
  private readonly writer = randomBytes(6).toString('hex');
  private writes = 0;

  constructor(private readonly tickets: Model<TicketDoc>) {
    this.spent = new SpentTickets(tickets, SPENT_FLUSH_MS);
  }

  /** Deletes the spent tickets now (before the connection closes). */
  flush(): Promise<void> {
    return this.spent.flush();
  }

  /** Did this process write (or insert) the document lately? Then it existed a moment ago. */
  wrote(scope: string, id: string): boolean {
    return this.recent.get(scope, id) !== undefined;
  }

  /** A document this process has just inserted, as the first guess of its next update. */
  inserted<D extends Revisioned>(scope: string, doc: D): void {
    this.recent.set(scope, doc);
  }

  /**
   * Applies `decide(doc)` to the document `id` of `model` atomically with respect to every other update made
   * through this class. `decide` sees the current document and returns the change, or null to leave it be;
   * it may run several times. Null when the document does not exist.
   */
  async update<D extends Revisioned>(
    scope: string,
    model: Model<D>,
    id: string,
    decide: (doc: D) => Change | null,
    /** The document as just read by the caller: decided on as this update's own first read would be. */
    fresh?: D,
  ): Promise<{ doc: D; changed: boolean } | null> {
    const deadline = Date.now() + MAX_WAIT_MS;
    // The document as this process last wrote it, if it did: tried first, without a read (see Recent).
    let hint = fresh ? undefined : this.recent.get<D>(scope, id);
    for (let attempt = 0; ; attempt++) {
      const doc = hint ?? fresh ?? await this.read(model, id);
      fresh = undefined;
      if (!doc) return null;
      const change = decide(doc);
      if (!change) {
        if (hint) { // "nothing to do" is only an answer when decided on the document as it stands
          hint = undefined;
          continue;
        }
        return { doc, changed: false };
      }
      hint = undefined;

      const rev = doc.rev + 1;
      const ticket = `${scope}/${id}/${rev}`;
      if (await this.take(ticket)) {
        try {
          // Still at r? The filter asks, in the write itself (no re-read): whoever moves the document on from r
          // holds ticket r + 1, which is ours, so nothing else can write it between FerretDB's read and write;
          // a document that moved on before we took the ticket does not match (a stale reader re-taking r + 1).
          const res = await model.collection.updateOne({ _id: id, rev: doc.rev } as never, toUpdate<D>(change, rev) as never);
          if (res.matchedCount === 1) return { doc: this.recent.set(scope, applyChange(doc, change, rev)), changed: true };
          this.recent.forget(scope, id);
        } finally {
          this.spent.add([ticket]);
        }
        continue; // the document moved on since we read it (or is gone): read and decide again at once
      }

      await this.clearIfStale(ticket);
      if (Date.now() > deadline) throw new Error(`update of ${scope}/${id} still contended after ${MAX_WAIT_MS} ms`);
      // Someone holds the ticket for a few ms: back off (with jitter, so racers spread out) and re-read.
      await sleep(Math.min(2 ** Math.min(attempt, 6), 50) * (0.5 + Math.random()));
    }
  }

  /**
   * update() for several documents at once: a read by `_id` of each document this process did not write
   * last (sent together), one insert of all tickets, one write of them all, and (later, with others) one
   * delete of the tickets. A document whose ticket is held, or that moved on since the read, goes through
   * update() on its own (the rare, contended path). Results by id; ids of missing documents are absent.
   */
  async updateMany<D extends Revisioned>(
    scope: string,
    model: Model<D>,
    ids: readonly string[],
    decide: (doc: D) => Change | null,
    /** Documents as just read by the caller: decided on as this call's own reads would be (see update's `fresh`). */
    known?: ReadonlyMap<string, D>,
  ): Promise<Map<string, { doc: D; changed: boolean }>> {
    const { results, later } = await this.updateEach(scope, model, ids, decide, known);
    const settled = await Promise.allSettled([...later.values()]);
    [...later.keys()].forEach((id, i) => {
      const r = settled[i]!;
      if (r.status === 'fulfilled' && r.value) results.set(id, r.value);
    });
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    return results;
  }

  /**
   * updateMany without waiting for the documents that go on alone: `results` holds those the batch settled,
   * `later` (by id) the update() of each whose ticket was held or that moved on, started and not awaited (each
   * may wait for its document's holder, and its own failure is its own). A failure of a command the documents
   * share (the reads, the ticket insert, the write) throws for all of them.
   */
  async updateEach<D extends Revisioned>(
    scope: string,
    model: Model<D>,
    ids: readonly string[],
    decide: (doc: D) => Change | null,
    known?: ReadonlyMap<string, D>,
  ): Promise<{ results: Map<string, { doc: D; changed: boolean }>; later: Map<string, Promise<{ doc: D; changed: boolean } | null>> }> {
    const results = new Map<string, { doc: D; changed: boolean }>();
    const unique = [...new Set(ids)];
    const wanted = new Map<string, { doc: D; change: Change; ticket: string }>();
    const want = (doc: D, change: Change) => wanted.set(doc._id, { doc, change, ticket: `${scope}/${doc._id}/${doc.rev + 1}` });
    // Documents this process wrote last need no read when the decision on them is a change (see Recent).
    const unread: string[] = [];
    for (const id of unique) {
      if (known?.has(id)) continue;
      const hint = this.recent.get<D>(scope, id);
      const change = hint && decide(hint);
      if (change) want(hint, change);
      else unread.push(id);
    }
    const docs = new Map<string, D>(known);
    for (const doc of unread.length ? await this.readMany(model, unread) : []) docs.set(doc._id, doc);
    for (const id of unique) {
      const doc = wanted.has(id) ? undefined : docs.get(id);
      if (!doc) continue;
      const change = decide(doc);
      if (change) want(doc, change);
      else results.set(id, { doc, changed: false });
    }
    const retry: string[] = [];
    /** Documents read back after a partial batch write: the retry decides on them without reading again. */
    const readBack = new Map<string, D>();
    if (wanted.size > 0) {
      const held = await this.takeMany([...wanted.values()].map((w) => w.ticket));
      try {
        const writes = [...wanted].filter(([, w]) => held.has(w.ticket));
        for (const [id, w] of wanted) if (!held.has(w.ticket)) retry.push(id);
        // One command with a statement per document. Its total says whether all applied (the common case);
        // when not, the documents are read back, and those carrying this write's stamp are the ones that did.
        // As in update(), the tickets keep anyone else from moving them from r to r + 1 meanwhile.
        const stamp = `${this.writer}.${++this.writes}`;
        const applied = new Set<string>();
        if (writes.length > 0) {
          let matched = 0;
          for (let i = 0; i < writes.length; i += BULK_STATEMENTS) {
            const res = await model.collection.bulkWrite(writes.slice(i, i + BULK_STATEMENTS).map(([id, w]) => ({
              updateOne: { filter: { _id: id, rev: w.doc.rev }, update: toUpdate<D>(w.change, w.doc.rev + 1, stamp) },
            })) as never, { ordered: false });
            matched += res.matchedCount;
          }
          const all = matched === writes.length;
          const back = all ? [] : await this.readMany(model, writes.map(([id]) => id));
          for (const [id] of writes) if (all) applied.add(id);
          for (const doc of back) {
            if (doc.stamp === stamp) applied.add(doc._id);
            else readBack.set(doc._id, doc);
          }
        }
        for (const [id, w] of writes) {
          if (applied.has(id)) results.set(id, { doc: this.recent.set(scope, applyChange(w.doc, w.change, w.doc.rev + 1, stamp)), changed: true });
          else { // it moved on before we took its ticket (or right after our write: then update() decides again)
            this.recent.forget(scope, id);
            retry.push(id);
          }
        }
      } finally {
        this.spent.add([...held]);
      }
    }
    // Side by side, and left to the caller: each waits only for its own document's holder.
    const later = new Map(retry.map((id) => {
      const one = this.update(scope, model, id, decide, readBack.get(id));
      one.catch(() => {}); // its caller hears it (updateMany, TaskWrites)
      return [id, one] as const;
    }));
    return { results, later };
  }

  /** Inserts the tickets in one unordered command; the ones this call now holds (a duplicate key: someone else's). */
  private async takeMany(tickets: string[]): Promise<Set<string>> {
    const at = new Date();
    const lost = new Set((await insertUnordered(this.tickets.collection, tickets.map((_id) => ({ _id, at })))).map((e) => e.index));
    // Their documents go through update(), which waits for the holder (or clears a stale ticket).
    return new Set(tickets.filter((_, i) => !lost.has(i)));
  }

  /** Parallel reads by `_id` (see updateMany: an `$in` is a collection scan on FerretDB v1). */
  async readMany<D extends Revisioned>(model: Model<D>, ids: readonly string[]): Promise<D[]> {
    const docs = await Promise.all(ids.map((id) => this.read(model, id)));
    return docs.filter((d): d is NonNullable<typeof d> => d !== null);
  }

  private async read<D extends Revisioned>(model: Model<D>, id: string): Promise<D | null> {
    return (await model.collection.findOne({ _id: id } as never)) as D | null;
  }

  private async take(ticket: string): Promise<boolean> {
    try {
      await this.tickets.collection.insertOne({ _id: ticket, at: new Date() } as never);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  private async clearIfStale(ticket: string): Promise<void> {
    const held = await this.tickets.findById(ticket).lean().exec();
    if (held && Date.now() - new Date(held.at).getTime() > TICKET_STALE_MS) {
      await this.tickets.deleteOne({ _id: ticket }).exec();
    }
  }
}
