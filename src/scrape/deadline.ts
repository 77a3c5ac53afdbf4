/**
 * A fetch's deadline that counts only time on the network: waiting for a per-host slot, a Crawl-delay or
 * robots.txt is paused out, so a busy host queues our requests instead of timing them out. Those waits
 * stay bounded by the caller's signal (the task's deadline).
 */
export class Deadline {
  private readonly controller = new AbortController();
  /** Aborts when the time is spent or the caller aborts. */
  readonly signal: AbortSignal;
  private remaining: number;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly caller: AbortSignal | undefined;
  private readonly onCallerAbort = (): void => this.controller.abort(this.caller?.reason);

  /** The clock starts at the first `resume()`. */
  constructor(ms: number, caller?: AbortSignal) {
    this.remaining = ms;
    this.signal = this.controller.signal;
    // A listener removed by dispose(), not AbortSignal.any(): one fetch per image made its weak
    // references and registry entries a measurable share of the work (bench/RESULTS.md).
    this.caller = caller;
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Starts (or restarts) the clock. */
  resume(): void {
    if (this.timer || this.controller.signal.aborted) return;
    this.startedAt = performance.now();
    this.timer = setTimeout(() => this.controller.abort(new DOMException('fetch deadline exceeded', 'TimeoutError')), Math.max(0, this.remaining));
  }

  pause(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.remaining -= performance.now() - this.startedAt;
  }

  /** Runs `wait` with the clock stopped. */
  async paused<T>(wait: () => Promise<T>): Promise<T> {
    this.pause();
    try {
      return await wait();
    } finally {
      this.resume();
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
