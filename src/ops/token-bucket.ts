/**
 * Token buckets as claimed time cells (the GCRA view of a token bucket): a bucket refilling one token every
 * `cellMs` with room for `burst` tokens lets a request through when it can claim a free cell in
 * [now, now + burst) (cells counted in units of cellMs). A burst claims cells ahead; time passing frees
 * room at the front. Claiming is the only write, so buckets can live in any store with an atomic
 * "insert unless present": one process's memory, or MongoDB/FerretDB for API replicas.
 */
import type { RateCellStore } from '../models/ops-store.js';

export interface BucketSpec {
  /** Time per token. */
  cellMs: number;
  burst: number;
}

export interface TakeResult {
  ok: boolean;
  /** Tokens left after this request (an estimate across replicas). */
  remaining: number;
  /** When refused: ms until a token is free. */
  retryAfterMs: number;
  /** ms until the bucket is full again. */
  resetMs: number;
}

/** The pure rule: given the lowest cell that may be free, claim it or say how long to wait. */
export function decide(spec: BucketSpec, now: number, lowestFree: number): { claim: number } | { refuse: TakeResult } {
  const nowCell = Math.floor(now / spec.cellMs);
  const cell = Math.max(nowCell, lowestFree);
  if (cell < nowCell + spec.burst) return { claim: cell };
  const retryAfterMs = Math.max(1, Math.ceil((cell - spec.burst + 1) * spec.cellMs - now));
  return { refuse: { ok: false, remaining: 0, retryAfterMs, resetMs: Math.ceil(cell * spec.cellMs - now) } };
}

function granted(spec: BucketSpec, now: number, cell: number): TakeResult {
  const nowCell = Math.floor(now / spec.cellMs);
  return { ok: true, remaining: Math.max(0, spec.burst - (cell + 1 - nowCell)), retryAfterMs: 0, resetMs: Math.ceil((cell + 1) * spec.cellMs - now) };
}

export interface TokenBuckets {
  take(bucket: string, spec: BucketSpec, now?: number): Promise<TakeResult>;
}

/** The next cell each bucket may have free; a bucket whose next cell is past is full again and forgotten. */
class NextCells {
  private readonly next = new Map<string, { cell: number; cellMs: number }>();
  private sweptAt = 0;

  get(bucket: string): number {
    return this.next.get(bucket)?.cell ?? 0;
  }

  set(bucket: string, cell: number, spec: BucketSpec): void {
    this.next.set(bucket, { cell, cellMs: spec.cellMs });
  }

  /** Keeps the map to the clients active lately; returns whether it swept (once a minute). */
  sweep(now: number): boolean {
    if (now - this.sweptAt < 60_000) return false;
    this.sweptAt = now;
    for (const [bucket, n] of this.next) if (n.cell * n.cellMs < now) this.next.delete(bucket);
    return true;
  }
}

/** One process's buckets: the next free cell per bucket is known exactly, nothing is written anywhere. */
export class MemoryTokenBuckets implements TokenBuckets {
  private readonly next = new NextCells();

  async take(bucket: string, spec: BucketSpec, now = Date.now()): Promise<TakeResult> {
    this.next.sweep(now);
    const d = decide(spec, now, this.next.get(bucket));
    if ('refuse' in d) return d.refuse;
    this.next.set(bucket, d.claim + 1, spec);
    return granted(spec, now, d.claim);
  }
}

/**
 * Buckets in a shared store. Each process keeps the next cell it believes free (a hint) and reserves it
 * before asking the store, so its own concurrent requests try different cells; a lost race (another replica
 * has the cell) asks the store for the highest claimed cell and tries above it. A cell is never claimed
 * twice, so N replicas together let through no more than one bucket's worth.
 */
export class SharedTokenBuckets implements TokenBuckets {
  private readonly hint = new NextCells();

  constructor(private readonly cells: RateCellStore, private readonly maxTries = 5) {}

  async take(bucket: string, spec: BucketSpec, now = Date.now()): Promise<TakeResult> {
    if (this.hint.sweep(now)) void this.cells.sweep(now).catch(() => undefined);
    for (let tries = 0; ; tries++) {
      const d = decide(spec, now, this.hint.get(bucket));
      if ('refuse' in d) return d.refuse;
      this.hint.set(bucket, Math.max(this.hint.get(bucket), d.claim + 1), spec);
      if (await this.cells.claim(bucket, d.claim, Math.ceil((d.claim + 1) * spec.cellMs))) return granted(spec, now, d.claim);
      const highest = await this.cells.highest(bucket, d.claim);
      this.hint.set(bucket, Math.max(this.hint.get(bucket), (highest ?? d.claim) + 1), spec);
      // Under heavy contention refuse rather than loop: the client retries after a cell's time.
      if (tries + 1 >= this.maxTries) return { ok: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(spec.cellMs)), resetMs: Math.ceil(spec.burst * spec.cellMs) };
    }
  }
}
