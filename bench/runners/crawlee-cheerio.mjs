/**
 * Crawlee's CheerioCrawler doing the job: pages through its HTML handler (text to a file), every image
 * enqueued as a request of its own (the request queue dedupes URLs) and written under its sha256.
 * Speaks the harness protocol (lib/proc.mjs). Argument: JSON {base, pages: [paths], concurrency, outDir, images: false for the text-only job}.
 * CRAWLEE_STORAGE_DIR is set by the harness to a temp dir; Crawlee keeps its defaults otherwise.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CheerioCrawler, Configuration, log } from '@crawlee/cheerio';
import { readyAndWaitForGo, reportAndExitWhenReleased } from '../lib/proc.mjs';

const { base, pages, concurrency, outDir, images: withImages = true } = JSON.parse(process.argv[2]);
log.setLevel(log.LEVELS.WARNING);
await fs.mkdir(path.join(outDir, 'text'), { recursive: true });
await fs.mkdir(path.join(outDir, 'images'), { recursive: true });

let pagesDone = 0;
let imagesDone = 0;
const crawler = new CheerioCrawler(
  {
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    additionalMimeTypes: ['image/png', 'image/jpeg', 'image/gif', 'image/webp'],
    maxRequestRetries: 2,
    async requestHandler({ request, body, $, addRequests }) {
      if (request.label === 'IMG') {
        const sha = createHash('sha256').update(body).digest('hex');
        await fs.writeFile(path.join(outDir, 'images', `${sha}.png`), body);
        imagesDone++;
        return;
      }
      const images = $('img[src]')
        .map((_, el) => new URL($(el).attr('src'), request.loadedUrl ?? request.url).href)
        .get();
      $('script, style, noscript').remove();
      const text = $('body').text().replace(/\s+/g, ' ').trim();
      await fs.writeFile(path.join(outDir, 'text', `${request.userData.n}.txt`), text);
      pagesDone++;
      if (withImages) await addRequests(images.map((url) => ({ url, label: 'IMG' })));
    },
  },
  new Configuration({ storageClientOptions: { localDataDirectory: process.env.CRAWLEE_STORAGE_DIR } }),
);

await readyAndWaitForGo();
const t0 = performance.now();
const stats = await crawler.run(pages.map((p, n) => ({ url: new URL(p, base).href, userData: { n } })));
const seconds = (performance.now() - t0) / 1000;
reportAndExitWhenReleased({ seconds, pages: pagesDone, images: imagesDone, failed: stats.requestsFailed });
