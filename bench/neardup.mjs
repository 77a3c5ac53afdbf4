/**
 * BENCH_ONLY=neardup: the export's near-duplicate filter (multi-index hashing, src/datasets/near-duplicates.ts)
 * against pairwise comparison with every kept hash (typed arrays, popcount), on the same hashes in the
 * same run: half random 64-bit hashes, half copies of earlier ones with 0-8 bits flipped.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Deterministic "random" numbers in [0, 1): sha256 of a counter, 32 bits at a time. */
function random(seed) {
  let n = 0;
  let pool = [];
  return () => {
    if (pool.length === 0) {
      const d = createHash('sha256').update(`${seed}:${n++}`).digest();
      pool = Array.from({ length: 8 }, (_, i) => d.readUInt32BE(i * 4));
    }
    return pool.pop() / 4294967296;
  };
}

const hex32 = (n) => (n >>> 0).toString(16).padStart(8, '0');

function hashes(n, seed) {
  const next = random(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    if (out.length && next() < 0.5) {
      const src = out[Math.floor(next() * out.length)];
      let hi = parseInt(src.slice(0, 8), 16);
      let lo = parseInt(src.slice(8), 16);
      for (let k = Math.floor(next() * 9); k > 0; k--) {
        const b = Math.floor(next() * 64);
        if (b < 32) hi ^= 1 << b;
        else lo ^= 1 << (b - 32);
      }
      out.push(hex32(hi) + hex32(lo));
    } else out.push(hex32(next() * 2 ** 32) + hex32(next() * 2 ** 32));
  }
  return out;
}

/** The baseline: keep a hash unless one of the kept hashes is within d. */
function pairwise(all, d, popcount32) {
  const hi = new Uint32Array(all.length);
  const lo = new Uint32Array(all.length);
  let kept = 0;
  for (const h of all) {
    const a = parseInt(h.slice(0, 8), 16);
    const b = parseInt(h.slice(8), 16);
    let near = false;
    for (let i = 0; i < kept && !near; i++) near = popcount32(hi[i] ^ a) + popcount32(lo[i] ^ b) <= d;
    if (!near) {
      hi[kept] = a;
      lo[kept++] = b;
    }
  }
  return kept;
}

function timed(fn) {
  const t = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, result };
}

export async function neardupRun({ distDir, sizes = [10_000, 50_000], distances = [3, 6, 10, 16] }) {
  const { HammingIndex } = await import(pathToFileURL(path.join(distDir, 'datasets/near-duplicates.js')).href);
  const { popcount32 } = await import(pathToFileURL(path.join(distDir, 'scrape/hamming.js')).href);
  const all = hashes(Math.max(...sizes), 42);
  const rows = [];
  for (const n of sizes) {
    const set = all.slice(0, n);
    for (const d of distances) {
      const base = timed(() => pairwise(set, d, popcount32));
      const mih = timed(() => { const ix = new HammingIndex(d); let kept = 0; for (const h of set) if (ix.keep(h)) kept++; return kept; });
      if (mih.result !== base.result) throw new Error(`n=${n} d=${d}: the index kept ${mih.result}, pairwise ${base.result}`);
      rows.push({ n, d, pairwiseMs: base.ms, indexMs: mih.ms, kept: base.result });
    }
  }
  return { rows };
}

export function neardupSection(N) {
  if (!N || N.error) return `Not measured${N?.error ? `: ${N.error}` : ''} (\`BENCH_ONLY=neardup npm run bench\`).`;
  const ms = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return [
    'Hashes: half random, half copies of earlier ones with 0-8 bits flipped, filtered first-come as an export does. Both keep the same hashes (checked in the run). One thread, wall time.',
    '',
    '| hashes | distance | pairwise (baseline) ms | multi-index ms | × faster | hashes/s (multi-index) | kept |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...N.rows.map((r) => `| ${r.n} | ${r.d} | ${ms(r.pairwiseMs)} | ${ms(r.indexMs)} | ${(r.pairwiseMs / r.indexMs).toFixed(1)} | ${Math.round(r.n / (r.indexMs / 1000))} | ${r.kept} |`),
  ].join('\n');
}
