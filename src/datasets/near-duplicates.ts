/**
 * Near-duplicate detection for exports: a set of 64-bit hashes that answers "is any kept hash within
 * Hamming distance d of this one?" without comparing against every kept hash (multi-index hashing,
 * Norouzi et al., CVPR 2012). The 64 bits are cut into 4 bands; two hashes within d bits of each other
 * agree within floor(d / 4) bits on at least one band (pigeonhole: were every band more than that apart,
 * the total would exceed d). So each band is a table from band value to hashes, and a query looks up
 * every value within floor(d / 4) bits of its own band value in each table, then checks the candidates'
 * full distance. Options and distances: docs/near-duplicates.md.
 */
import { popcount32 } from '../scrape/hamming.js';

/**
 * Four bands of 16 bits: for d ≤ 3 some band matches exactly, beyond that within ⌊d / 4⌋ bits. 16-bit band
 * values index typed arrays directly (no hashing), and 65536 buckets a band keep buckets short for exports
 * of hundreds of thousands of samples.
 */
const BANDS = 4;
const BAND_BITS = 16;
const BUCKETS = 1 << BAND_BITS;
/**
 * A bucket lookup costs about as much as this many plain comparisons (random memory access, chains;
 * measured with BENCH_ONLY=neardup), so a query scans the kept hashes until there are this many times
 * more of them than it would look up buckets. At distance 16 (2517 lookups a band) that is 40,000.
 */
const LOOKUP_COST = 4;
export const MAX_NEAR_DUPLICATE_DISTANCE = 16;

const HEX64 = /^[0-9a-f]{16}$/i;

/** Every mask of `width` bits with at most `radius` bits set, 0 first. */
function masksWithin(width: number, radius: number): Int32Array {
  const out = [0];
  const extend = (mask: number, from: number, left: number) => {
    if (left === 0) return;
    for (let bit = from; bit < width; bit++) {
      const m = mask | (1 << bit);
      out.push(m);
      extend(m, bit + 1, left - 1);
    }
  };
  extend(0, 0, radius);
  return Int32Array.from(out);
}

/** A growable array of 32-bit integers. */
class IntList<T extends Int32Array | Uint32Array> {
  length = 0;
  constructor(public items: T, private readonly make: (n: number) => T) {}
  push(v: number): void {
    if (this.length === this.items.length) {
      const bigger = this.make(this.items.length * 2);
      bigger.set(this.items);
      this.items = bigger;
    }
    this.items[this.length++] = v;
  }
}

const int32s = (n: number) => new Int32Array(n);
const uint32s = (n: number) => new Uint32Array(n);

export class HammingIndex {
  private readonly hi = new IntList(uint32s(1024), uint32s);
  private readonly lo = new IntList(uint32s(1024), uint32s);
  /** Per band: the first kept hash with each band value (-1: none), and each kept hash's next with the same value. */
  private readonly heads: Int32Array[] = [];
  private readonly nexts: Array<IntList<Int32Array>> = [];
  /** Masks to flip in a band value to reach every value within ⌊d / 4⌋ bits. */
  private readonly flips: Int32Array;
  /** Distance 0 needs no bands: the hashes themselves are the keys. */
  private readonly exact?: Set<string>;
  /** Up to this many kept hashes a query compares with each (cheaper than its bucket lookups). */
  private readonly scanUpTo: number;

  /** `scanUpTo` is for tests: 0 makes every query use the bands. */
  constructor(readonly maxDistance: number, options: { scanUpTo?: number } = {}) {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_NEAR_DUPLICATE_DISTANCE) {
      throw new RangeError(`maxDistance must be an integer in 0..${MAX_NEAR_DUPLICATE_DISTANCE}`);
    }
    this.flips = masksWithin(BAND_BITS, Math.floor(maxDistance / BANDS));
    this.scanUpTo = options.scanUpTo ?? LOOKUP_COST * BANDS * this.flips.length;
    if (maxDistance === 0) {
      this.exact = new Set();
      return;
    }
    for (let b = 0; b < BANDS; b++) {
      this.heads.push(new Int32Array(BUCKETS).fill(-1));
      this.nexts.push(new IntList(int32s(1024), int32s));
    }
  }

  get size(): number {
    return this.exact ? this.exact.size : this.hi.length;
  }

  /** Is a kept hash within maxDistance of `hash` (16 hex digits)? */
  has(hash: string): boolean {
    const h = hash.toLowerCase();
    return this.exact ? this.exact.has(h) : this.near(parseInt(h.slice(0, 8), 16), parseInt(h.slice(8), 16));
  }

  add(hash: string): void {
    const h = hash.toLowerCase();
    if (this.exact) this.exact.add(h);
    else this.insert(parseInt(h.slice(0, 8), 16), parseInt(h.slice(8), 16));
  }

  /**
   * Keeps `hash` unless a kept hash is within maxDistance: true when kept. The first of a group of
   * near-duplicates is kept, so the same hashes in the same order keep the same ones.
   */
  keep(hash: string): boolean {
    const h = hash.toLowerCase();
    if (this.exact) {
      if (this.exact.has(h)) return false;
      this.exact.add(h);
      return true;
    }
    const hi = parseInt(h.slice(0, 8), 16);
    const lo = parseInt(h.slice(8), 16);
    if (this.near(hi, lo)) return false;
    this.insert(hi, lo);
    return true;
  }

  private near(hi: number, lo: number): boolean {
    const his = this.hi.items;
    const los = this.lo.items;
    const d = this.maxDistance;
    // While fewer hashes are kept than a query would look up buckets, comparing with each is cheaper.
    if (this.hi.length <= this.scanUpTo) {
      for (let i = 0; i < this.hi.length; i++) if (popcount32((his[i] as number) ^ hi) + popcount32((los[i] as number) ^ lo) <= d) return true;
      return false;
    }
    for (let b = 0; b < BANDS; b++) {
      const own = (b < 2 ? lo >>> (b * BAND_BITS) : hi >>> ((b - 2) * BAND_BITS)) & (BUCKETS - 1);
      const head = this.heads[b] as Int32Array;
      const next = (this.nexts[b] as IntList<Int32Array>).items;
      for (let f = 0; f < this.flips.length; f++) {
        for (let i = head[own ^ (this.flips[f] as number)] as number; i >= 0; i = next[i] as number) {
          if (popcount32((his[i] as number) ^ hi) + popcount32((los[i] as number) ^ lo) <= d) return true;
        }
      }
    }
    return false;
  }

  private insert(hi: number, lo: number): void {
    const i = this.hi.length;
    this.hi.push(hi);
    this.lo.push(lo);
    for (let b = 0; b < BANDS; b++) {
      const key = (b < 2 ? lo >>> (b * BAND_BITS) : hi >>> ((b - 2) * BAND_BITS)) & (BUCKETS - 1);
      const head = this.heads[b] as Int32Array;
      (this.nexts[b] as IntList<Int32Array>).push(head[key] as number);
      head[key] = i;
    }
  }
}

/** Only well-formed 64-bit hashes take part; an item without one (undecodable image, old task) is always kept. */
export const isHash64 = (v: unknown): v is string => typeof v === 'string' && HEX64.test(v);
