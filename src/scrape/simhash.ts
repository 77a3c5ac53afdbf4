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

const FNV_HI = 0x811c9dc5;
const FNV_LO = 0x050c5d1f;

/** ASCII runs in a row after which a stretch of text with other characters is hashed (see wordHashes). */
const ASCII_RUNS_TO_RESUME = 16;

/**
 * Each word's two FNV-1a hashes (hi, lo), in order: the hashes of `words(text)`, computed without building
 * the words where the text is ASCII (building ~2,000 words a page and their lower-cased copy was most of
 * SimHash's time). The text is read a run between ASCII spaces at a time, which gives the same words as the
 * whole text: no word spans a space, and lower-casing is the same run by run (its one context rule, Greek
 * final sigma, looks across letters and case-ignorable characters only, never across a space). An ASCII run
 * is hashed as it is scanned (A-Z lower-cased, a-z and 0-9 in words). From a run with any other character
 * on, the text goes through words() in one piece, up to where ASCII_RUNS_TO_RESUME ASCII runs in a row
 * end it: a text in another script costs one words() call, as before, not one per run.
 */
function wordHashes(text: string): { hi: number[]; lo: number[] } {
  const hi: number[] = [];
  const lo: number[] = [];
  /** Where the stretch going through words() began, or -1. */
  let slowFrom = -1;
  let asciiRuns = 0;
  const flush = (end: number) => {
    for (const word of words(text.slice(slowFrom, end))) {
      hi.push(fnv1a(word, FNV_HI));
      lo.push(fnv1a(word, FNV_LO));
    }
    slowFrom = -1;
  };
  let i = 0;
  while (i < text.length) {
    while (i < text.length && isAsciiSpace(text.charCodeAt(i))) i++;
    if (slowFrom >= 0) {
      // Inside a stretch, runs are only looked at: its words() call hashes them.
      let ascii = true;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (isAsciiSpace(c)) break;
        if (c >= 0x80) ascii = false;
      }
      if (!ascii) asciiRuns = 0;
      else if (++asciiRuns >= ASCII_RUNS_TO_RESUME) flush(i);
      continue;
    }
    const start = i;
    const mark = hi.length;
    let a = 0;
    let b = 0;
    let inWord = false;
    for (; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (isAsciiSpace(c)) break;
      if (c >= 0x80) {
        // A stretch for words() starts with this run: what the scan hashed of it is dropped.
        hi.length = lo.length = mark;
        slowFrom = start;
        asciiRuns = 0;
        inWord = false;
        break;
      }
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
        if (!inWord) {
          a = FNV_HI;
          b = FNV_LO;
          inWord = true;
        }
        a = Math.imul(a ^ c, 0x01000193) >>> 0;
        b = Math.imul(b ^ c, 0x01000193) >>> 0;
      } else if (inWord) {
        hi.push(a);
        lo.push(b);
        inWord = false;
      }
    }
    if (inWord) {
      hi.push(a);
      lo.push(b);
    }
  }
  if (slowFrom >= 0) flush(text.length);
  return { hi, lo };
}

/** Space, tab, line feed, vertical tab, form feed, carriage return: neither cased nor case-ignorable. */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Adds 1 to the count of every column whose bit is set in `x`, for 32 columns counted bit-sliced: `planes[j]`
 * holds bit j of each column's count, so an addition is a binary increment of all 32 counts at once (a few
 * xor/and steps, as the carries die out) instead of a step per set bit.
 */
function addColumns(planes: Int32Array, x: number): void {
  for (let j = 0; x !== 0; j++) {
    const p = planes[j]!;
    planes[j] = p ^ x;
    x &= p;
  }
}

/** The count of column `bit` (0 = the most significant bit) of bit-sliced counters. */
function columnCount(planes: Int32Array, bit: number): number {
  let n = 0;
  for (let j = planes.length - 1; j >= 0; j--) n = n * 2 + ((planes[j]! >>> (31 - bit)) & 1);
  return n;
}

export function simhash(text: string, shingle = SIMHASH_SHINGLE): string {
  const { hi, lo } = wordHashes(text);
  // Bit i's vote is +1 per feature with the bit set and -1 per feature without: the sign is whether more than
  // half the features set it, so only the set bits are counted (bit-sliced, see addColumns), which was the most
  // of a text task's main-thread time here when done bit by bit.
  const hiPlanes = new Int32Array(32);
  const loPlanes = new Int32Array(32);
  const n = hi.length < shingle ? 1 : shingle;
  let features = 0;
  for (let i = 0; i + n <= hi.length; i++) {
    let h = 0;
    let l = 0;
    for (let k = 0; k < n; k++) {
      h ^= rotl(hi[i + k]!, 7 * k + 1);
      l ^= rotl(lo[i + k]!, 11 * k + 1);
    }
    features++;
    addColumns(hiPlanes, mix(h) | 0);
    addColumns(loPlanes, mix(l ^ 0x9e3779b9) | 0);
  }
  const bits = new Array<number>(64);
  for (let b = 0; b < 32; b++) {
    bits[b] = 2 * columnCount(hiPlanes, b) > features ? 1 : 0;
    bits[32 + b] = 2 * columnCount(loPlanes, b) > features ? 1 : 0;
  }
  return bitsToHex(bits);
}
