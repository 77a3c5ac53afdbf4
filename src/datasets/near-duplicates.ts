/**
 * Near-duplicate detection for exports: a set of 64-bit hashes that answers "is any kept hash within
 * Hamming distance d of this one?" without comparing against every kept hash (multi-index hashing,
 * Norouzi et al., CVPR 2012). The 64 bits are cut into m bands; two hashes within d bits of each other
 * agree within floor(d / m) bits on at least one band (pigeonhole: were every band more than that apart,
 * the total would exceed d). So each band is a table from band value to hashes, and a query looks up
 * every value within floor(d / m) bits of its own band value in each table, then checks the candidates'
 * full distance. Options and distances: docs/near-duplicates.md.
 */
import { popcount32 } from '../scrape/hamming.js';

/** At most this many bands of 16 bits: tables of 65536 buckets hold big exports with few hashes a bucket. */
const MAX_BANDS = 4;
export const MAX_NEAR_DUPLICATE_DISTANCE = 16;

const HEX64 = /^[0-9a-f]{16}$/i;
/** Every mask of `width` bits with at most `radius` bits set, 0 first. */
function masksWithin(width: number, radius: number): number[] {
  const out = [0];
  const extend = (mask: number, from: number, left: number) => {
    if (left === 0) return;
    for (let bit = from; bit < width; bit++) {
      const m = (mask | (1 << bit)) >>> 0;
      out.push(m);
      extend(m, bit + 1, left - 1);
    }
  };
  extend(0, 0, radius);
  return out;
}

interface Band {
  shift: bigint;
  mask: bigint;
  table: Map<number, number[]>;
}

export class HammingIndex {
  private readonly hi: number[] = [];
  private readonly lo: number[] = [];
  private readonly bands: Band[];
  /** Masks to flip in a band value to reach every value within the band's radius. */
  private readonly flips: number[];
  /** Distance 0 needs no bands: the hashes themselves are the keys. */
  private readonly exact?: Set<string>;

  constructor(readonly maxDistance: number) {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_NEAR_DUPLICATE_DISTANCE) {
      throw new RangeError(`maxDistance must be an integer in 0..${MAX_NEAR_DUPLICATE_DISTANCE}`);
    }
    if (maxDistance === 0) {
      this.exact = new Set();
      this.bands = [];
      this.flips = [];
      return;
    }
    // Up to d + 1 bands, each matched exactly (radius 0); beyond MAX_BANDS, bands are searched within a radius.
    const count = Math.min(maxDistance + 1, MAX_BANDS);
    const radius = Math.floor(maxDistance / count);
    this.bands = [];
    let shift = 0;
    let widest = 0;
    for (let i = 0; i < count; i++) {
      const width = Math.floor(64 / count) + (i < 64 % count ? 1 : 0);
      this.bands.push({ shift: BigInt(shift), mask: (1n << BigInt(width)) - 1n, table: new Map() });
      shift += width;
      widest = Math.max(widest, width);
    }
    this.flips = masksWithin(widest, radius);
  }

  get size(): number {
    return this.exact ? this.exact.size : this.hi.length;
  }

  /** Is a kept hash within maxDistance of `hash` (16 hex digits)? */
  has(hash: string): boolean {
    const h = hash.toLowerCase();
    if (this.exact) return this.exact.has(h);
    const value = BigInt(`0x${h}`);
    const hi = parseInt(h.slice(0, 8), 16);
    const lo = parseInt(h.slice(8), 16);
    for (const band of this.bands) {
      const own = Number((value >> band.shift) & band.mask);
      const limit = Number(band.mask);
      for (const flip of this.flips) {
        if (flip > limit) continue; // a bit beyond this (narrower) band
        const bucket = band.table.get((own ^ flip) >>> 0);
        if (!bucket) continue;
        for (const i of bucket) {
          if (popcount32(this.hi[i]! ^ hi) + popcount32(this.lo[i]! ^ lo) <= this.maxDistance) return true;
        }
      }
    }
    return false;
  }

  add(hash: string): void {
    const h = hash.toLowerCase();
    if (this.exact) {
      this.exact.add(h);
      return;
    }
    const value = BigInt(`0x${h}`);
    const i = this.hi.length;
    this.hi.push(parseInt(h.slice(0, 8), 16));
    this.lo.push(parseInt(h.slice(8), 16));
    for (const band of this.bands) {
      const key = Number((value >> band.shift) & band.mask);
      const bucket = band.table.get(key);
      if (bucket) bucket.push(i);
      else band.table.set(key, [i]);
    }
  }

  /**
   * Keeps `hash` unless a kept hash is within maxDistance: true when kept. The first of a group of
   * near-duplicates is kept, so the same hashes in the same order keep the same ones.
   */
  keep(hash: string): boolean {
    if (this.has(hash)) return false;
    this.add(hash);
    return true;
  }
}

/** Only well-formed 64-bit hashes take part; an item without one (undecodable image, old task) is always kept. */
export const isHash64 = (v: unknown): v is string => typeof v === 'string' && HEX64.test(v);
