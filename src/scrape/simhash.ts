/**
 * SimHash (Charikar) of a text, 64 bits as 16 hex digits: near-identical texts get hashes a few bits
 * apart, so `hamming(a, b) <= 3` is the usual near-duplicate threshold for 64-bit SimHashes of web
 * pages (Manku et al., WWW 2007). Features: word 3-shingles of the text lower-cased, Unicode letters and
 * digits only, each weighted 1; texts of fewer than 3 words use their words. Each feature is hashed to
 * 64 bits as two 32-bit FNV-1a hashes with different offsets. Options and distance: docs/near-duplicates.md.
 */
import { bitsToHex } from './hamming.js';

export const SIMHASH_SHINGLE = 3;

function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche: FNV's low bits mix poorly for short inputs.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export function simhash(text: string, shingle = SIMHASH_SHINGLE): string {
  const w = words(text);
  const counts = new Int32Array(64);
  const add = (feature: string) => {
    const hi = fnv1a(feature, 0x811c9dc5);
    const lo = fnv1a(feature, 0x050c5d1f);
    for (let bit = 0; bit < 32; bit++) {
      counts[bit]! += (hi >>> (31 - bit)) & 1 ? 1 : -1;
      counts[32 + bit]! += (lo >>> (31 - bit)) & 1 ? 1 : -1;
    }
  };
  if (w.length < shingle) w.forEach(add);
  else for (let i = 0; i + shingle <= w.length; i++) add(w.slice(i, i + shingle).join(' '));
  return bitsToHex(Array.from(counts, (c) => (c > 0 ? 1 : 0)));
}
