/**
 * Where HTML is parsed. Parsing is synchronous CPU work that no deadline can interrupt on the thread that
 * runs it, and htmlparser2's open-element stack makes deeply nested pages quadratic (100k nested <div>s:
 * ~5 s). So by default pages are parsed on worker threads (piscina): the event loop that serves the API
 * and drives downloads stays free, both cores parse, and a page that takes longer than the parse timeout
 * has its thread terminated and fails with a typed error.
 */
import { Piscina } from 'piscina';
import { decodeAndExtract, type ExtractJob } from './extract-worker.js';
import type { ExtractedPage } from './html.js';
import { ScrapeError } from './scrape-error.js';

export interface PageExtractor {
  extract(job: ExtractJob, signal: AbortSignal): Promise<ExtractedPage>;
  close(): Promise<void>;
}

/** Parses on the calling thread: for tests run from TypeScript sources, where a worker cannot load them. */
export function inlineExtractor(): PageExtractor {
  return {
    extract: async (job) => decodeAndExtract(job),
    close: async () => {},
  };
}

export function threadedExtractor(options: { threads: number; timeoutMs: number }): PageExtractor {
  const pool = new Piscina<ExtractJob, ExtractedPage>({
    filename: new URL('./extract-worker.js', import.meta.url).href,
    minThreads: 1,
    maxThreads: options.threads,
    idleTimeout: 60_000,
  });
  return {
    async extract(job, signal) {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      try {
        // Aborting a running job terminates its thread; piscina starts a fresh one.
        return await pool.run(job, { signal: AbortSignal.any([signal, timeout]) });
      } catch (err) {
        if (timeout.aborted) throw new ScrapeError('timeout', `parsing the page took longer than ${options.timeoutMs} ms`);
        if (signal.aborted) throw new ScrapeError('timeout', 'task deadline exceeded while parsing the page');
        throw err;
      }
    },
    close: () => pool.destroy(),
  };
}
