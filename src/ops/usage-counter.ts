/**
 * Usage counts summed in memory per minute and written to the store in one batch every flush interval,
 * so a request costs a map update, not a store write. A failed flush keeps its counts for the next one;
 * close() flushes what is left (SIGTERM loses nothing).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { UsageDims, UsageRow, UsageStore } from '../models/ops-store.js';
import { bucketOf } from '../models/ops-store.js';

export class UsageCounter {
  /** This process's name in the usage rows: each row has one writer (see UsageStore.addUsage). */
  readonly source = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private pending = new Map<string, UsageRow>();
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(private readonly store: UsageStore, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  add(metric: string, dims: Partial<UsageDims>, n = 1): void {
    const minute = bucketOf(this.now(), 'minute');
    const key = dims.key ?? '';
    const ip = dims.ip ?? '';
    const path = dims.path ?? '';
    const host = dims.host ?? '';
    const id = `${minute}\u0000${metric}\u0000${key}\u0000${ip}\u0000${path}\u0000${host}`;
    const row = this.pending.get(id);
    if (row) row.n += n;
    else this.pending.set(id, { minute, metric, key, ip, path, host, n });
  }

  /** Writes what was counted so far; flushes run one at a time, in order. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.addUsage(this.source, [...batch.values()]);
      } catch (err) {
        // Put the counts back, added to whatever came in meanwhile, for the next flush.
        for (const [id, row] of batch) {
          const now = this.pending.get(id);
          if (now) now.n += row.n;
          else this.pending.set(id, row);
        }
        this.log.warn({ err, rows: batch.size }, 'usage flush failed; kept for the next one');
      }
    });
    return this.flushing;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
