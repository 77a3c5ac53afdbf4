/**
 * How far V8 lets a heap grow past its live objects before its next full collection, for every isolate of
 * the process (the main thread's and the parse and hashing threads', created later).
 *
 * V8 picks a factor between 1.1 and 4 from its collection and allocation speeds, and takes 4 when the heap
 * limit is large (Node's default on a machine with a few GB). The worker allocates fast (per image: a
 * download, a claim, a link) while keeping little alive, so its heap grew to ~3-4× its live objects: in the
 * 100k-image run ~200 MB of old space for ~50-65 MB live, most of the peak RSS (docs/decisions.md). A fixed
 * factor keeps the heap near what is alive; the cost is more full collections, each short (small live set,
 * marked concurrently on helper threads).
 */
import v8 from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';

/**
 * The parse and hashing threads' young generation. V8 gives each thread's heap the main thread's (two 16 MB
 * semi-spaces here), and the parse thread filled it: ~50-65 MB committed for ~9 MB alive. A page's parse
 * garbage is small and short-lived, and what a large page keeps (its tree) outgrows any young generation and
 * is promoted either way.
 */
export const THREAD_HEAP_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 12 };

/** The V8 option, as the run-time check in test/unit/heap-growth.test.ts passes it to a fresh node. */
export function heapGrowthFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`;
}

/** `percent` 0 leaves V8's own choice. V8 reads the option at each full collection, so setting it at start-up suffices. */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(heapGrowthFlag(percent));
}
