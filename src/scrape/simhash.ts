/**
 * SimHash (Charikar) of a text, 64 bits as 16 hex digits: near-identical texts get hashes a few bits
 * apart, so `hamming(a, b) <= 3` is the usual near-duplicate threshold for 64-bit SimHashes of web
 * pages (Manku et al., WWW 2007). Features: word 3-shingles of the text lower-cased, Unicode letters and
 * digits only, each weighted 1; texts of fewer than 3 words use their words. Each word is hashed once to
 * 64 bits (two 32-bit FNV-1a hashes with different offsets); a shingle's hash is its words' hashes
 * rotated by position, xor-ed and mixed. Options and distance: docs/near-duplicates.md.
 */
import { bitsToHex } from './hamming.js';

export const SIMHASH_SHINGLE = 3;

function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** murmur3's finaliser: FNV's bits mix poorly for short inputs, and shingle hashes combine word hashes. */
function mix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export function simhash(text: string, shingle = SIMHASH_SHINGLE): string {
  const w = words(text);
  // Each word is hashed once; a shingle's hash combines its words' hashes, rotated by position.
  const hi = new Uint32Array(w.length);
  const lo = new Uint32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    hi[i] = fnv1a(w[i]!, 0x811c9dc5);
    lo[i] = fnv1a(w[i]!, 0x050c5d1f);
  }
  // Bit i's vote is +1 per feature with the bit set and -1 per feature without: counting the set bits only
  // (about half of them, each found with clz32) gives the same sign as the vote, at a third of the cost of
  // visiting all 64 bits of every feature, which was the most of a text task's main-thread time here.
  const ones = new Int32Array(64);
  const n = w.length < shingle ? 1 : shingle;
  let features = 0;
  for (let i = 0; i + n <= w.length; i++) {
    let h = 0;
    let l = 0;
    for (let k = 0; k < n; k++) {
      h ^= rotl(hi[i + k]!, 7 * k + 1);
      l ^= rotl(lo[i + k]!, 11 * k + 1);
    }
    features++;
    // Bit i (0 = most significant) of a 32-bit word is the one with clz32 = i.
    for (let x = mix(h); x !== 0; x &= x - 1) ones[Math.clz32(x & -x)]!++;
    for (let x = mix(l ^ 0x9e3779b9); x !== 0; x &= x - 1) ones[32 + Math.clz32(x & -x)]!++;
  }
  return bitsToHex(Array.from(ones, (k) => (2 * k > features ? 1 : 0)));
}
