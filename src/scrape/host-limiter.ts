/**
 * Per-host politeness shared by every task in the process: at most `concurrency` requests in flight to a
 * host, and request starts to a host at least `minDelayMs` apart (or a larger delay asked per call, such as
 * a robots.txt Crawl-delay). Memory stays bounded: a host's state is dropped once it is idle and its delay
 * has passed.
 */
import { systemClock, type Clock } from './clock.js';
import { telemetry } from '../ops/telemetry.js';

export interface HostLimiterOptions {
  concurrency: number;
  minDelayMs: number;
  clock?: Clock;
}

export interface AcquireOptions {
  /** Wanted spacing for this request, if larger than the limiter's minimum. */
  delayMs?: number;
  /** Stops waiting for a slot or for the delay. */
  signal?: AbortSignal;
}

interface HostState {
  active: number;
  waiters: Array<() => void>;
  lastStartAt: number;
  /** Until then the state must be kept, or the next request would not wait its delay. */
  quietUntil: number;
}

export class HostLimiter {
  private readonly hosts = new Map<string, HostState>();
  private readonly clock: Clock;
  /** Size at which idle hosts are swept; doubles with the live set, so sweeping stays amortised O(1). */
  private sweepAt = 1024;

  constructor(private readonly options: HostLimiterOptions) {
    if (!(options.concurrency >= 1)) throw new Error('per-host concurrency must be at least 1');
    this.clock = options.clock ?? systemClock;
  }

  /** Hosts with state kept (in flight, queued, or within their delay). */
  get size(): number {
    return this.hosts.size;
  }

  /** Waits for a slot and the host's delay; returns the release, which must be called once the response is done. */
  async acquire(host: string, options: AcquireOptions = {}): Promise<() => void> {
    if (options.signal?.aborted) throw options.signal.reason;
    const waitStart = this.clock.now();
    const key = host.toLowerCase();
    let state = this.hosts.get(key);
    if (!state) {
      if (this.hosts.size >= this.sweepAt) {
        this.sweep();
        this.sweepAt = Math.max(1024, this.hosts.size * 2);
      }
      state = { active: 0, waiters: [], lastStartAt: -Infinity, quietUntil: -Infinity };
      this.hosts.set(key, state);
    }
    if (state.active < this.options.concurrency) state.active++;
    else await this.queue(state, options.signal);
    // From here the slot is ours (a releaser hands its slot straight to the first waiter).
    try {
      const delay = Math.max(this.options.minDelayMs, options.delayMs ?? 0);
      const now = this.clock.now();
      const startAt = Math.max(now, state.lastStartAt + delay);
      state.lastStartAt = startAt;
      state.quietUntil = Math.max(state.quietUntil, startAt + delay);
      if (startAt > now) await this.clock.sleep(startAt - now, options.signal);
      telemetry.hostWait((this.clock.now() - waitStart) / 1000);
    } catch (err) {
      this.release(key, state);
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(key, state);
    };
  }

  private queue(state: HostState, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        const i = state.waiters.indexOf(grant);
        if (i >= 0) state.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      state.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(key: string, state: HostState): void {
    const next = state.waiters.shift();
    if (next) return next();
    state.active--;
    if (state.active === 0 && this.clock.now() >= state.quietUntil) this.hosts.delete(key);
  }

  /** Drops idle hosts whose delay has passed (those released while still within it). */
  private sweep(): void {
    const now = this.clock.now();
    for (const [key, state] of this.hosts) {
      if (state.active === 0 && state.waiters.length === 0 && now >= state.quietUntil) this.hosts.delete(key);
    }
  }
}
