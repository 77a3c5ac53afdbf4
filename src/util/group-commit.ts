/**
 * Group commit: writes that arrive close together go to the store as one command, each caller answered by
 * its own item's outcome.
 *
 * Why: on the cluster's MongoDB stand-in every command costs about a millisecond of driver CPU in the
 * process and more in FerretDB, whatever it carries (docs/decisions.md, "Task state writes coalesced").
 * There is no timer: the items submitted in one turn of the event loop form the first write, and whatever
 * arrives while a write is in flight waits for it and forms the next. An idle process writes at once (one
 * setImmediate later), a busy one writes as often as the store answers, with everything that came meanwhile.
 */

/**
 * What a write did with each of its items, in their order: a promise of that item's value or its own error.
 * It may settle after the write returns (an item that needs more work of its own, e.g. waiting for a contended
 * document), and the next write does not wait for it: one slow item holds up nobody else.
 */
export type ItemOutcomes<O> = Array<Promise<O>>;

export interface GroupCommitOptions<I> {
  /** Items in one write at most (the rest go in the next). */
  max: number;
  /** Items with the same key never share a write: the later one waits for the next (a write decides each key once). */
  key?: (item: I) => string;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<I, O> {
  private queue: Array<Waiting<I, O>> = [];
  private draining?: Promise<void>;

  /**
   * `write` stores the items as one and says how each ends; a throw is every item's error (the command as a
   * whole failed: each may or may not have taken effect, as for a write of its own).
   */
  constructor(
    private readonly write: (items: I[]) => Promise<ItemOutcomes<O>>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  /** Resolves or rejects as the write carrying `item` did with it. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Resolves once every item submitted so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    // One turn of the event loop, so the items submitted together share the first write.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) await this.writeSome(this.take());
    this.draining = undefined;
  }

  /** The next write's items: in order, up to max, one per key (a key's later items keep their place in the queue). */
  private take(): Array<Waiting<I, O>> {
    const { key, max } = this.options;
    const taken: Array<Waiting<I, O>> = [];
    const rest: Array<Waiting<I, O>> = [];
    const keys = new Set<string>();
    for (const waiting of this.queue) {
      const k = key?.(waiting.item);
      if (taken.length >= max || (k !== undefined && keys.has(k))) {
        rest.push(waiting);
        continue;
      }
      if (k !== undefined) keys.add(k);
      taken.push(waiting);
    }
    this.queue = rest;
    return taken;
  }

  private async writeSome(batch: Array<Waiting<I, O>>): Promise<void> {
    let outcomes: ItemOutcomes<O>;
    try {
      outcomes = await this.write(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if (!outcome) w.reject(new Error('group commit: the write gave no outcome for an item'));
      else outcome.then(w.resolve, w.reject);
    });
  }
}
