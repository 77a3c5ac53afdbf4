/**
 * Pages fetched a moment ago, kept briefly in memory: a user typically asks for a text task and an images
 * task of the same URL, and both need the same fetch and parse. The same reuse rule as for images: a page
 * fetched moments ago is reused, one being fetched by another task is joined, `refresh: true` fetches anew.
 * Bounded by age and by an estimate of the bytes held.
 */
import { ScrapeError } from '../scrape/scrape-error.js';
import type { FetchedPage } from './page.js';

/** Failures that a second fetch right now would only repeat; a joiner shares them instead of fetching again. */
const LASTING = new Set(['http_error', 'not_html', 'too_large', 'too_many_redirects', 'robots_disallowed', 'blocked_address', 'unsupported_scheme', 'invalid_url']);

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

  async get(url: string, load: () => Promise<FetchedPage>, fresh: boolean): Promise<FetchedPage> {
    if (this.options.ttlMs <= 0) return load();
    if (!fresh) {
      const hit = this.pages.get(url);
      if (hit && this.now() - hit.at <= this.options.ttlMs) return hit.page;
      const pending = this.inflight.get(url);
      if (pending) {
        try {
          return await pending;
        } catch (err) {
          // The other task's deadline or a passing network error is no reason to fail this one.
          if (err instanceof ScrapeError && LASTING.has(err.code)) throw err;
        }
      }
    }
    const loading = load();
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
    const imageTexts = Object.values(page.imageTexts).reduce((n, t) => n + (t.alt?.length ?? 0) + (t.title?.length ?? 0) + (t.figcaption?.length ?? 0) + (t.nearby?.length ?? 0), 0);
    const texts = page.texts.text.length + page.texts.main.length + page.texts.markdown.length;
    const bytes = 2 * (texts + page.images.reduce((n, u) => n + u.length, 0) + imageTexts) + 512 + JSON.stringify(page.metadata).length + 256 * (page.rights?.record.signals.length ?? 0);
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
