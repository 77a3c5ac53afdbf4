/**
 * Crawlee's CheerioCrawler crawling the fixture site from its start URL: each page's text to a file (as the
 * text job does), then enqueueLinks with the same-hostname strategy, up to maxPages requests.
 * Speaks the harness protocol (lib/proc.mjs). Argument: JSON {start, maxPages, concurrency, outDir}.
 * CRAWLEE_STORAGE_DIR is set by the harness to a temp dir; Crawlee keeps its defaults otherwise.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CheerioCrawler, Configuration, log } from '@crawlee/cheerio';
import { readyAndWaitForGo, reportAndExitWhenReleased } from '../lib/proc.mjs';

const { start, maxPages, concurrency, outDir } = JSON.parse(process.argv[2]);
log.setLevel(log.LEVELS.WARNING);
await fs.mkdir(outDir, { recursive: true });

let pagesDone = 0;
const crawler = new CheerioCrawler(
  {
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    maxRequestsPerCrawl: maxPages,
    maxRequestRetries: 2,
    async requestHandler({ $, enqueueLinks }) {
      // Links first: the text extraction below removes elements.
      await enqueueLinks({ strategy: 'same-hostname' });
      $('script, style, noscript').remove();
      const text = $('body').text().replace(/\s+/g, ' ').trim();
      await fs.writeFile(path.join(outDir, `${pagesDone++}.txt`), text);
    },
  },
  new Configuration({ storageClientOptions: { localDataDirectory: process.env.CRAWLEE_STORAGE_DIR } }),
);

await readyAndWaitForGo();
const t0 = performance.now();
const stats = await crawler.run([start]);
const seconds = (performance.now() - t0) / 1000;
reportAndExitWhenReleased({ seconds, pages: pagesDone, failed: stats.requestsFailed });
