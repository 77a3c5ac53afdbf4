/** Runs in a worker thread (see page-extractor.ts): charset decoding and HTML extraction, CPU only. */
import { decodeHtml } from './decode.js';
import { extractPage, type ExtractedPage } from './html.js';

export interface ExtractJob {
  body: Uint8Array;
  contentType?: string;
  pageUrl: string;
}

export function decodeAndExtract(job: ExtractJob): ExtractedPage {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  return extractPage(decodeHtml(body, job.contentType), job.pageUrl);
}

export default decodeAndExtract;
