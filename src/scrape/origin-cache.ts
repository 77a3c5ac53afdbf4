/**
 * Per-origin cache of something loaded from the site (robots.txt, the rights files): one load per origin
 * however many callers ask at once, kept for a TTL the loaded value chooses, least recently loaded origins
 * dropped first beyond `maxOrigins`. A caller's signal stops its wait, never the shared load (which runs on
 * its loader's own deadline).
 */
import type { Clock } from './clock.js';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export interface OriginCacheOptions<T> {
  load: (origin: string) => Promise<T>;
  /** How long a loaded value is good for (a failure is usually kept for less). */
  ttlMs: (value: T) => number;
  clock: Pick<Clock, 'now'>;
  maxOrigins: number;
}

export class OriginCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly loading = new Map<string, Promise<Entry<T>>>();

  constructor(private readonly options: OriginCacheOptions<T>) {}

  async get(origin: string, signal?: AbortSignal): Promise<T> {
    const cached = this.entries.get(origin);
    if (cached && cached.expiresAt > this.options.clock.now()) return cached.value;
    let pending = this.loading.get(origin);
    if (!pending) {
      pending = this.load(origin).finally(() => this.loading.delete(origin));
      this.loading.set(origin, pending);
    }
    return (await (signal ? abortable(pending, signal) : pending)).value;
  }

  private async load(origin: string): Promise<Entry<T>> {
    const value = await this.options.load(origin);
    const entry = { value, expiresAt: this.options.clock.now() + this.options.ttlMs(value) };
    this.entries.delete(origin); // re-inserted last: the Map's order is least recently loaded first
    this.entries.set(origin, entry);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.options.maxOrigins) break;
      this.entries.delete(key);
    }
    return entry;
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
