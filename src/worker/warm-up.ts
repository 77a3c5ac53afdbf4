/**
 * Readies a cluster worker (ROLE=worker) before it takes its first job: the parse thread loads its modules
 * (cheerio, the main-content rules) on a small page, the hashing thread loads sharp on a small image, and the
 * main thread loads the language tables on the page's text. Otherwise every worker's first page paid that
 * start-up (~2.3 s with four workers starting at once on 2 cores, ~0.25 s for later pages), and a worker added
 * to a busy cluster held its first prefetched messages through it (docs/decisions.md, "A cluster worker warms up").
 */
import sharp from 'sharp';
import type { Logger } from '../logger.js';
import { detectLanguage } from '../scrape/language.js';
import type { ImageHasher } from '../scrape/image-hasher.js';
import type { PageExtractor } from '../scrape/page-extractor.js';

const PAGE = `<!doctype html><html lang="en"><head><title>Warm-up</title><meta name="description" content="A page parsed once at start."></head>
<body><nav><a href="/elsewhere">Elsewhere</a></nav><main><article><h1>Warm-up</h1>
<p>This page is parsed once when the worker starts, so that its parse thread has loaded what every page needs before the first real one comes.</p>
<p>It has a paragraph or two of English prose, an image with a caption and a link, like most pages.</p>
<figure><img src="/warm.png" alt="warm"><figcaption>A caption.</figcaption></figure></article></main></body></html>`;

/** Never throws: a worker that could not warm up takes jobs anyway (cold, as before). */
export async function warmUp(deps: { extractor: PageExtractor; hasher: ImageHasher }, log: Logger): Promise<void> {
  const started = Date.now();
  try {
    const signal = AbortSignal.timeout(30_000);
    // Larger than the hasher's inline limit, so it goes to the hashing thread.
    const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40, g: 90, b: 160 } } }).png().toBuffer();
    const [page] = await Promise.all([
      deps.extractor.extract({ body: Buffer.from(PAGE), contentType: 'text/html; charset=utf-8', pageUrl: 'https://warm-up.invalid/' }, signal),
      deps.hasher.hash(image, { width: 64, height: 64 }),
    ]);
    // A text task's page goes through the language tables (worker/page.ts): ~0.1 s of load once (language.ts).
    const language = await detectLanguage(page.text);
    log.info({ ms: Date.now() - started, language }, 'worker warmed up');
  } catch (err) {
    log.warn({ err }, 'worker warm-up failed; taking jobs anyway');
  }
}
