/**
 * Pages fetched a moment ago, kept briefly in memory: a user typically asks for a text task and an images
 * task of the same URL, and both need the same fetch and parse. The same reuse rule as for images: a page
 * fetched moments ago is reused, one being fetched by another task is joined, `refresh: true` fetches anew.
 * A page is extracted with the parts its first task asked for; a task that needs more completes it (one
 * more parse of the kept HTML, no second fetch) and the completed page replaces it for the tasks after.
 * Bounded by age and by an estimate of the bytes held.
 */
import { coversParts, type ExtractParts } from '../scrape/html.js';
import { ScrapeError } from '../scrape/scrape-error.js';
import type { FetchedPage } from './page.js';

export interface PageLoaders {
  /** Fetches and extracts the page anew. */
  load(): Promise<FetchedPage>;
  /** The page extracted again with the parts it lacks (no fetch). */
  complete(page: FetchedPage): Promise<FetchedPage>;
}

/** Failures that a second fetch right now would only repeat; a joiner shares them instead of fetching again. */
const LASTING = new Set(['http_error', 'not_html', 'too_large', 'too_many_redirects', 'robots_disallowed', 'blocked_address', 'unsupported_scheme', 'invalid_url']);

/**
 * What an image reference holds beyond its characters (its URL counts twice: in `images` and as the key of
 * `imageTexts`): an object of up to five strings and their headers, and the hidden classes V8 makes for an
 * object keyed by URLs when the parse thread's answer is deserialised. Measured on the scale bench's pages
 * (100 images with figure captions): ~475 bytes of heap an image, ~140 counted from the characters alone.
 */
const IMAGE_OVERHEAD_BYTES = 256;

/** An estimate of the heap a kept page holds, on the generous side (characters at two bytes). */
function heapBytes(page: FetchedPage): number {
  const imageTexts = Object.values(page.imageTexts).reduce((n, t) => n + (t.alt?.length ?? 0) + (t.title?.length ?? 0) + (t.figcaption?.length ?? 0) + (t.nearby?.length ?? 0) + (t.caption?.length ?? 0), 0);
  const texts = page.texts.text.length + (page.texts.main?.length ?? 0) + (page.texts.markdown?.length ?? 0);
  const urls = page.images.reduce((n, u) => n + 2 * u.length, 0);
  return 2 * (texts + urls + imageTexts) + IMAGE_OVERHEAD_BYTES * page.images.length + (page.source?.body.length ?? 0) + 512 + JSON.stringify(page.metadata).length + 256 * (page.rights?.record.signals.length ?? 0);
}

interface Entry {
  page: FetchedPage;
  at: number;
  bytes: number;
}

export class RecentPages {
  private readonly pages = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<FetchedPage>>();
  private held = 0;

  constructor(private readonly options: { ttlMs: number; maxBytes: number; now?: () => number }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async get(url: string, parts: ExtractParts, loaders: PageLoaders, fresh: boolean): Promise<FetchedPage> {
    if (this.options.ttlMs <= 0) return loaders.load();
    // Each turn waits for a load or a completion of the page: it ends with the parts wanted, or with a load of ours.
    while (!fresh) {
      const entry = this.pages.get(url);
      const hit = entry && this.now() - entry.at <= this.options.ttlMs ? entry.page : undefined;
      if (hit && coversParts(hit.parts, parts)) return hit;
      const pending = this.inflight.get(url);
      // A hit that lacks parts is completed once: a completion under way is joined like a load.
      if (!pending) return hit ? this.track(url, loaders.complete(hit)) : this.track(url, loaders.load());
      let page: FetchedPage;
      try {
        page = await pending;
      } catch (err) {
        // The other task's deadline or a passing network error is no reason to fail this one.
        if (err instanceof ScrapeError && LASTING.has(err.code)) throw err;
        break;
      }
      if (coversParts(page.parts, parts)) return page;
      // Another joiner may be completing it already (then the next turn joins that); else we do.
      const now = this.inflight.get(url);
      if (now === undefined || now === pending) return this.track(url, loaders.complete(page));
    }
    return this.track(url, loaders.load());
  }

  /** `loading` is the page's pending load for joiners, and is remembered once it is there. */
  private async track(url: string, loading: Promise<FetchedPage>): Promise<FetchedPage> {
    this.inflight.set(url, loading);
    try {
      const page = await loading;
      this.remember(url, page);
      return page;
    } finally {
      if (this.inflight.get(url) === loading) this.inflight.delete(url);
    }
  }

  private remember(url: string, page: FetchedPage): void {
    this.forget(url);
    const bytes = heapBytes(page);
    if (bytes > this.options.maxBytes / 4) return; // one huge page must not flush everything else
    this.pages.set(url, { page, at: this.now(), bytes });
    this.held += bytes;
    // Map order is insertion order: the oldest entries go first.
    for (const [key, entry] of this.pages) {
      if (this.held <= this.options.maxBytes && this.now() - entry.at <= this.options.ttlMs) break;
      this.forget(key);
    }
  }

  private forget(url: string): void {
    const entry = this.pages.get(url);
    if (!entry) return;
    this.pages.delete(url);
    this.held -= entry.bytes;
  }

  get size(): number {
    return this.pages.size;
  }
}
