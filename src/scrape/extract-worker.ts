/** Runs in a worker thread (see page-extractor.ts): charset decoding and HTML extraction, CPU only. */
import type { TaskError } from '../models/task.js';
import { decodeHtml } from './decode.js';
import { extractPage, type ExtractedPage, type ExtractParts } from './html.js';
import { ScrapeError, toTaskError } from './scrape-error.js';

export interface ExtractJob {
  body: Uint8Array;
  contentType?: string;
  pageUrl: string;
  /** See ExtractOptions.maxDepth. */
  maxDepth?: number;
  /** What the page's tasks read beyond text, metadata, images and links; default all (ExtractOptions.parts). */
  parts?: ExtractParts;
}

/** A typed refusal travels back as data: an Error crossing a thread boundary loses its class and code. */
export type ExtractOutcome = { page: ExtractedPage } | { refused: TaskError };

export function decodeAndExtract(job: ExtractJob): ExtractOutcome {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  try {
    return { page: extractPage(decodeHtml(body, job.contentType), job.pageUrl, { maxDepth: job.maxDepth, parts: job.parts }) };
  } catch (err) {
    if (err instanceof ScrapeError) return { refused: toTaskError(err) };
    throw err;
  }
}

/** The page, or the ScrapeError the extraction refused it with. */
export function pageOf(outcome: ExtractOutcome): ExtractedPage {
  if ('page' in outcome) return outcome.page;
  throw new ScrapeError(outcome.refused.code as ScrapeError['code'], outcome.refused.message);
}

export default decodeAndExtract;
