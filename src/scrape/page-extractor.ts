/**
 * Where HTML is parsed. Parsing is synchronous CPU work that no deadline can interrupt on the thread that
 * runs it, and htmlparser2's open-element stack makes deeply nested pages quadratic (100k nested <div>s:
 * ~5 s). So by default pages are parsed on worker threads (piscina): the event loop that serves the API
 * and drives downloads stays free, both cores parse, and a page that takes longer than the parse timeout
 * has its thread terminated and fails with a typed error.
 *
 * A page waits for a free thread in a bounded queue of our own, not piscina's, so that its parse timeout
 * starts when a thread takes it: time spent behind a slow page is not held against the next one. A page
 * nested deeper than `maxDepth` is refused as soon as the parser gets there, before its cost grows.
 */
import pLimit from 'p-limit';
import { Piscina } from 'piscina';
import { THREAD_HEAP_LIMITS } from '../heap-growth.js';
import { decodeAndExtract, pageOf, type ExtractJob, type ExtractOutcome } from './extract-worker.js';
import type { ExtractedPage } from './html.js';
import { ScrapeError } from './scrape-error.js';

export interface PageExtractor {
  extract(job: ExtractJob, signal: AbortSignal): Promise<ExtractedPage>;
  close(): Promise<void>;
}

export interface ExtractorOptions {
  /** Deepest element nesting parsed; deeper fails with `too_large`. Default: no cap. */
  maxDepth?: number;
}

/** Parses on the calling thread: for tests run from TypeScript sources, where a worker cannot load them. */
export function inlineExtractor(options: ExtractorOptions = {}): PageExtractor {
  return {
    extract: async (job) => pageOf(decodeAndExtract({ ...job, maxDepth: options.maxDepth })),
    close: async () => {},
  };
}

export interface ThreadedExtractorOptions extends ExtractorOptions {
  threads: number;
  /** The longest one page may parse, counted from when a thread takes it. */
  timeoutMs: number;
  /** Pages that may wait for a thread; one more fails at once with `parser_busy`. */
  maxWaiting: number;
}

export function threadedExtractor(options: ThreadedExtractorOptions): PageExtractor {
  const pool = new Piscina<ExtractJob, ExtractOutcome>({
    filename: new URL('./extract-worker.js', import.meta.url).href,
    minThreads: 1,
    maxThreads: options.threads,
    idleTimeout: 60_000,
    resourceLimits: THREAD_HEAP_LIMITS,
  });
  // One page per thread at a time: piscina's own queue would start the timeout while the page still waits.
  const lane = pLimit(options.threads);
  const parse = async (job: ExtractJob, signal: AbortSignal): Promise<ExtractedPage> => {
    if (signal.aborted) throw new ScrapeError('timeout', 'task deadline exceeded while waiting for a parse thread');
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      // Aborting a running job terminates its thread; piscina starts a fresh one.
      return pageOf(await pool.run({ ...job, maxDepth: options.maxDepth }, { signal: AbortSignal.any([signal, timeout]) }));
    } catch (err) {
      if (timeout.aborted) throw new ScrapeError('timeout', `parsing the page took longer than ${options.timeoutMs} ms`);
      if (signal.aborted) throw new ScrapeError('timeout', 'task deadline exceeded while parsing the page');
      throw err;
    }
  };
  return {
    extract(job, signal) {
      if (lane.activeCount >= options.threads && lane.pendingCount >= options.maxWaiting) {
        return Promise.reject(new ScrapeError('parser_busy', `every parse thread is busy and ${lane.pendingCount} pages are waiting`));
      }
      return lane(() => parse(job, signal));
    },
    close: () => pool.destroy(),
  };
}
