/**
 * The store calls of one page's images, batched: claims made a chunk ahead of the downloads (one
 * claimImages per chunk), and completions with their links written together by whoever is done while the
 * previous batch is being written (one settleImages per batch). Fewer round trips per image on every
 * store; on MongoDB each batch costs a fixed handful of commands however many images it holds.
 */
import type { ImageSettlement, SettledImage, TaskStore } from '../models/task-store.js';
import type { ClaimResult, ImageRecord } from '../models/task.js';

/**
 * The page's claims by position, requested `chunk` positions at a time as the downloads reach them. A claim
 * made ahead is held before its download starts, so the runner joins other tasks' images only after its
 * own claims are settled (see runImagesTask).
 */
export class PageClaims {
  private readonly requested = new Map<number, Promise<ClaimResult>>();
  private readonly taken = new Set<number>();

  constructor(
    private readonly sourceUrls: readonly string[],
    private readonly chunk: number,
    private readonly claim: (sourceUrls: string[]) => Promise<ClaimResult[]>,
  ) {}

  /** The claim of `position` (asking for it and the next chunk - 1 unrequested positions when it was not asked yet). */
  take(position: number): Promise<ClaimResult> {
    this.taken.add(position);
    if (!this.requested.has(position)) this.request(position);
    return this.requested.get(position)!;
  }

  private request(from: number): void {
    const positions: number[] = [];
    for (let p = from; p < this.sourceUrls.length && positions.length < this.chunk; p++) {
      if (!this.requested.has(p)) positions.push(p);
    }
    const batch = this.claim(positions.map((p) => this.sourceUrls[p]!));
    positions.forEach((p, i) => {
      const one = batch.then((results) => results[i]!);
      one.catch(() => {}); // a taken position sees the error; one nobody takes must not be an unhandled rejection
      this.requested.set(p, one);
    });
  }

  /** Images claimed for positions no download took (the task stopped first): their claims should go back. */
  async untaken(): Promise<ImageRecord[]> {
    const left = [...this.requested].filter(([p]) => !this.taken.has(p));
    const settled = await Promise.allSettled(left.map(([, claim]) => claim));
    return settled.flatMap((r) => (r.status === 'fulfilled' && r.value.outcome === 'claimed' ? [r.value.image] : []));
  }
}

const MAX_BATCH = 256;
/** The longest a settlement waits for the page's other images in work to join its batch. */
export const SETTLE_LINGER_MS = 80;

/**
 * Settlements written in batches: each waits for the batch it joins; a store error fails that batch's items.
 * A batch is written once every image in work (between begin() and end()) waits in it, or SETTLE_LINGER_MS
 * after its first settlement: downloads of one page end close together, and each batch costs the store a
 * fixed handful of commands however many images it holds.
 *
 * A link with no claim to complete (a reused, joined or skipped image) is answered at once and written with
 * the next batch of completions, or by flush() at the page's end: its answer never depends on the store, and
 * a batch of its own cost the store a command per page (the reused images' links are ready at the claims,
 * the downloads' completions come later). A failed write of such a link fails flush(), hence the task.
 */
export class Settlements {
  private pending: Array<{ item: ImageSettlement; resolve: (r: SettledImage) => void; reject: (e: unknown) => void }> = [];
  /** Links alone, answered already, waiting for a batch. */
  private links: ImageSettlement[] = [];
  /** Why a batch carrying such links failed, for flush() to throw. */
  private linkError?: { err: unknown };
  private draining?: Promise<void>;
  private working = 0;
  private wake?: () => void;

  constructor(private readonly store: TaskStore, private readonly lingerMs = SETTLE_LINGER_MS) {}

  /** An image's work begins: it may settle soon, so a batch waits a little for it. */
  begin(): void {
    this.working++;
  }

  /** An image's work ended (settled or not): a batch no longer waits for it. */
  end(): void {
    this.working--;
    this.wake?.();
  }

  settle(item: ImageSettlement): Promise<SettledImage> {
    if (!item.completion) {
      this.links.push(item);
      return Promise.resolve({ image: null, linked: true });
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.wake?.();
      this.draining ??= this.drain();
    });
  }

  /** Writes what waits (after the batch in flight); rejects if a link answered early could not be written. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.draining) await this.draining;
      else if (this.links.length > 0) await this.write([]);
      else break;
    }
    if (this.linkError) throw this.linkError.err;
  }

  /** Resolves once every image in work waits to be settled, or after lingerMs. */
  private gathered(): Promise<void> {
    // One turn of the event loop at least, so the downloads that finish together share a batch.
    if (this.pending.length >= this.working) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.lingerMs);
      this.wake = () => {
        if (this.pending.length >= this.working) done();
      };
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      await this.gathered();
      await this.write(this.pending.splice(0, MAX_BATCH));
    }
    this.draining = undefined;
  }

  /** One settleImages of `batch` and the links alone waiting (room permitting). */
  private async write(batch: Settlements['pending']): Promise<void> {
    const links = this.links.splice(0, MAX_BATCH - batch.length);
    try {
      const results = await this.store.settleImages([...batch.map((b) => b.item), ...links]);
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (err) {
      for (const b of batch) b.reject(err);
      if (links.length > 0) this.linkError ??= { err };
    }
  }
}
