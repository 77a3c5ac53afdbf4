import { HostLimiter } from '../../../src/scrape/host-limiter.js';
import { FakeClock } from '../../fixtures/clock.js';

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('HostLimiter', () => {
  it('lets `concurrency` requests per host in at once and queues the rest in order', async () => {
    const limiter = new HostLimiter({ concurrency: 2, minDelayMs: 0, clock: new FakeClock() });
    const order: string[] = [];
    const a = await limiter.acquire('a.test');
    const b = await limiter.acquire('a.test');
    const c = limiter.acquire('a.test').then((release) => (order.push('c'), release));
    const d = limiter.acquire('a.test').then((release) => (order.push('d'), release));
    const other = await limiter.acquire('b.test'); // another host is not held up
    await settle();
    expect(order).toEqual([]);
    a();
    await settle();
    expect(order).toEqual(['c']);
    b();
    b(); // a second call of one release frees nothing more
    await settle();
    expect(order).toEqual(['c', 'd']);
    (await c)();
    (await d)();
    other();
    expect(limiter.size).toBe(0);
  });

  it('treats host names case-insensitively', async () => {
    const limiter = new HostLimiter({ concurrency: 1, minDelayMs: 0, clock: new FakeClock() });
    const first = await limiter.acquire('Example.TEST');
    let second = false;
    const pending = limiter.acquire('example.test').then((release) => ((second = true), release));
    await settle();
    expect(second).toBe(false);
    first();
    (await pending)();
  });

  it('spaces request starts to one host by the minimum delay', async () => {
    const clock = new FakeClock();
    const limiter = new HostLimiter({ concurrency: 4, minDelayMs: 1000, clock });
    (await limiter.acquire('a.test'))();
    (await limiter.acquire('a.test'))();
    clock.advance(300);
    (await limiter.acquire('a.test'))();
    (await limiter.acquire('b.test'))();
    expect(clock.sleeps).toEqual([1000, 700]);
  });

  it('reserves start times, so concurrent requests are spaced too', async () => {
    const clock = new FakeClock();
    const sleeps: number[] = [];
    // A clock whose sleeps never finish on their own: we only look at what was asked.
    const frozen = { now: () => clock.now(), sleep: (ms: number) => (sleeps.push(ms), new Promise<void>(() => undefined)) };
    const limiter = new HostLimiter({ concurrency: 4, minDelayMs: 500, clock: frozen });
    await limiter.acquire('a.test');
    void limiter.acquire('a.test');
    void limiter.acquire('a.test');
    await settle();
    expect(sleeps).toEqual([500, 1000]);
  });

  it('uses a larger per-request delay (a Crawl-delay) when asked', async () => {
    const clock = new FakeClock();
    const limiter = new HostLimiter({ concurrency: 1, minDelayMs: 100, clock });
    (await limiter.acquire('a.test', { delayMs: 5000 }))();
    (await limiter.acquire('a.test', { delayMs: 5000 }))();
    (await limiter.acquire('a.test', { delayMs: 10 }))();
    expect(clock.sleeps).toEqual([5000, 100]);
  });

  it('stops waiting for a slot when the signal aborts, without losing the slot', async () => {
    const limiter = new HostLimiter({ concurrency: 1, minDelayMs: 0, clock: new FakeClock() });
    const held = await limiter.acquire('a.test');
    const controller = new AbortController();
    const waiting = limiter.acquire('a.test', { signal: controller.signal });
    controller.abort(new Error('task deadline'));
    await expect(waiting).rejects.toThrow('task deadline');
    held();
    const again = await limiter.acquire('a.test');
    again();
    expect(limiter.size).toBe(0);
    await expect(limiter.acquire('a.test', { signal: controller.signal })).rejects.toThrow('task deadline');
  });

  it('gives the slot back when the wait for the delay is aborted', async () => {
    const clock = new FakeClock();
    const limiter = new HostLimiter({ concurrency: 1, minDelayMs: 1000, clock });
    (await limiter.acquire('a.test'))();
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(limiter.acquire('a.test', { signal: controller.signal })).rejects.toThrow('cancelled');
    clock.advance(5000);
    (await limiter.acquire('a.test'))();
  });

  it('forgets idle hosts, keeping one only while its delay has yet to pass', async () => {
    const clock = new FakeClock();
    const limiter = new HostLimiter({ concurrency: 2, minDelayMs: 0, clock });
    for (let i = 0; i < 5000; i++) (await limiter.acquire(`h${i}.test`))();
    expect(limiter.size).toBe(0);

    const spaced = new HostLimiter({ concurrency: 2, minDelayMs: 1000, clock });
    (await spaced.acquire('a.test'))();
    expect(spaced.size).toBe(1);
    clock.advance(1000);
    // Hosts past their delay are swept as new ones arrive.
    for (let i = 0; i < 3000; i++) {
      (await spaced.acquire(`h${i}.test`))();
      clock.advance(1000);
    }
    expect(spaced.size).toBeLessThanOrEqual(1024);
  });
});
