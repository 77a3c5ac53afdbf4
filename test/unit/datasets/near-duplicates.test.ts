import { hamming } from '../../../src/scrape/hamming.js';
import { HammingIndex, MAX_NEAR_DUPLICATE_DISTANCE } from '../../../src/datasets/near-duplicates.js';
import { prng as random } from '../../helpers/prng.js';

const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** `hash` with `bits` distinct random bits flipped. */
function flip(hash: string, bits: number, next: () => number): string {
  let hi = parseInt(hash.slice(0, 8), 16);
  let lo = parseInt(hash.slice(8), 16);
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(Math.floor(next() * 64));
  for (const b of chosen) {
    if (b < 32) hi ^= 1 << b;
    else lo ^= 1 << (b - 32);
  }
  return hex32(hi) + hex32(lo);
}

/** Random hashes, and near copies of earlier ones at every distance from 0 to 20. */
function hashes(n: number, seed: number): string[] {
  const next = random(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (out.length > 0 && next() < 0.5) out.push(flip(out[Math.floor(next() * out.length)]!, Math.floor(next() * 21), next));
    else out.push(hex32(next() * 2 ** 32) + hex32(next() * 2 ** 32));
  }
  return out;
}

/** The rule by definition: keep a hash unless a kept one is within d, comparing against every kept hash. */
function keptByPairs(all: string[], d: number): boolean[] {
  const kept: string[] = [];
  return all.map((h) => {
    if (kept.some((k) => hamming(k, h) <= d)) return false;
    kept.push(h);
    return true;
  });
}

describe('HammingIndex (multi-index hashing)', () => {
  const distances = Array.from({ length: MAX_NEAR_DUPLICATE_DISTANCE + 1 }, (_, d) => d);
  it.each(distances)('keeps exactly what pairwise comparison keeps at distance %i, looking in the bands', (d) => {
    const all = hashes(600, 1000 + d);
    const index = new HammingIndex(d, { scanUpTo: 0 });
    const kept = all.map((h) => index.keep(h));
    expect(kept).toEqual(keptByPairs(all, d));
    // The default compares with each kept hash while there are few: the same answer.
    const small = new HammingIndex(d);
    expect(all.map((h) => small.keep(h))).toEqual(kept);
    // The planted copies make this a real test: some are dropped, some kept.
    expect(kept.filter((k) => !k).length).toBeGreaterThan(0);
    expect(index.size).toBe(kept.filter(Boolean).length);
  });

  it('finds a hash at exactly the distance and not one bit beyond, in every band', () => {
    const next = random(7);
    const base = 'f0f0f0f00f0f0f0f';
    for (const d of [1, 3, 4, 7, 10, 16]) {
      const index = new HammingIndex(d, { scanUpTo: 0 });
      index.add(base);
      for (let trial = 0; trial < 200; trial++) {
        expect(index.has(flip(base, d, next))).toBe(true);
        expect(index.has(flip(base, d + 1, next))).toBe(false);
      }
    }
  });

  it('reads hex in either case and refuses distances it cannot search', () => {
    const index = new HammingIndex(2);
    index.add('ABCDEF0123456789');
    expect(index.has('abcdef0123456788')).toBe(true);
    expect(() => new HammingIndex(-1)).toThrow(RangeError);
    expect(() => new HammingIndex(MAX_NEAR_DUPLICATE_DISTANCE + 1)).toThrow(RangeError);
    expect(() => new HammingIndex(1.5)).toThrow(RangeError);
  });
});
