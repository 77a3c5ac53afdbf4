import { Deadline } from '../../../src/scrape/deadline.js';

describe('Deadline', () => {
  it('aborts with the caller, carrying the caller\'s reason', () => {
    const caller = new AbortController();
    const deadline = new Deadline(60_000, caller.signal);
    deadline.resume();
    caller.abort(new Error('task cancelled'));
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('task cancelled');
    deadline.dispose();
  });

  it('starts aborted when the caller already is', () => {
    const deadline = new Deadline(60_000, AbortSignal.abort(new Error('gone')));
    expect(deadline.signal.aborted).toBe(true);
    deadline.dispose();
  });

  it('lets go of the caller once disposed: a long-lived caller signal does not collect listeners or abort old fetches', () => {
    const caller = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const signal = caller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((type: string, fn: EventListener, opts?: AddEventListenerOptions) => (added.push(fn), add(type, fn, opts))) as typeof signal.addEventListener;
    signal.removeEventListener = ((type: string, fn: EventListener) => (removed.push(fn), remove(type, fn))) as typeof signal.removeEventListener;
    const deadlines = Array.from({ length: 3 }, () => new Deadline(60_000, signal));
    for (const d of deadlines) d.dispose();
    expect(removed).toEqual(added);
    caller.abort();
    expect(deadlines.map((d) => d.signal.aborted)).toEqual([false, false, false]);
  });

  it('times out only while resumed', async () => {
    const deadline = new Deadline(20);
    await deadline.paused(() => new Promise((resolve) => setTimeout(resolve, 60)));
    expect(deadline.signal.aborted).toBe(false); // the wait did not count; resumed now
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve));
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
    deadline.dispose();
  });
});
