/**
 * The WebhookStore contract (store.webhooks), run against every TaskStore adapter: endpoints, idempotent
 * enqueue, due order, the claim (one winner, also across two instances), attempts and paging.
 */
import type { TaskStore } from '../../src/models/task-store.js';
import { claimDelivery, recordAttempt, type RetrySchedule, type WebhookEndpoint } from '../../src/models/webhook.js';
import { eachStore } from './store-lifecycle.js';

const schedule: RetrySchedule = { baseDelayMs: 1000, maxDelayMs: 60_000, windowMs: 10_000 };
const t0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const delivery = (id: string, ownerId = 'b1') => ({ id, ownerId, event: 'batch.completed' as const, url: 'https://hooks.example.test/x', payload: `{"id":"${id}"}` });

export function describeWebhookStoreContract(name: string, open: () => Promise<TaskStore>, cleanup?: (store: TaskStore) => Promise<void>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let store: TaskStore;
    eachStore(open, cleanup, (s) => (store = s));

    it('keeps one endpoint per owner', async () => {
      const e: WebhookEndpoint = { ownerId: 'b1', owner: 'batch', url: 'https://hooks.example.test/a', secret: 'whsec_AAAA', events: ['batch.completed'], createdAt: t0.toISOString() };
      await store.webhooks.setEndpoint(e);
      expect(await store.webhooks.getEndpoint('b1')).toEqual(e);
      expect(await store.webhooks.getEndpoint('b2')).toBeNull();
    });

    it('enqueues a delivery once per id, due at once, listed oldest first with paging', async () => {
      expect(await store.webhooks.enqueue(delivery('msg_1'), t0)).toBe(true);
      expect(await store.webhooks.enqueue(delivery('msg_1'), at(5))).toBe(false); // a second record of one event
      expect(await store.webhooks.enqueue(delivery('msg_2'), at(1))).toBe(true);
      expect(await store.webhooks.enqueue(delivery('msg_3', 'b2'), at(2))).toBe(true);
      expect(await store.webhooks.due(t0, 10)).toEqual(['msg_1']);
      expect(await store.webhooks.due(at(10), 10)).toEqual(['msg_1', 'msg_2', 'msg_3']);
      const first = await store.webhooks.listDeliveries('b1', { limit: 1 });
      expect(first.items.map((d) => [d.id, d.status, d.attempts, d.nextAttemptAt])).toEqual([['msg_1', 'pending', 0, t0.toISOString()]]);
      const second = await store.webhooks.listDeliveries('b1', { limit: 1, cursor: first.nextCursor });
      expect(second.items.map((d) => d.id)).toEqual(['msg_2']);
      expect(second.nextCursor).toBeUndefined();
    });

    it('claims a due delivery once; a failed attempt backs off; a success is never claimed again', async () => {
      await store.webhooks.enqueue(delivery('msg_1'), t0);
      const won = await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'A', t0, 30_000));
      expect(won).toMatchObject({ changed: true, delivery: { claimToken: 'A', attempts: 1 } });
      expect((await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'B', at(1), 30_000)))?.changed).toBe(false); // held by a live claim

      const failed = await store.webhooks.update('msg_1', (d) => recordAttempt(d, 'A', { ok: false, status: 500, error: 'HTTP 500' }, at(10), schedule));
      expect(failed?.delivery).toMatchObject({ status: 'pending', nextAttemptAt: at(1010).toISOString(), lastStatus: 500, lastError: 'HTTP 500' });
      expect(failed?.delivery.claimToken).toBeUndefined();
      expect(await store.webhooks.due(at(1009), 10)).toEqual([]);
      expect((await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'B', at(500), 30_000)))?.changed).toBe(false); // not due yet

      expect((await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'B', at(1010), 30_000)))?.delivery.attempts).toBe(2);
      expect((await store.webhooks.update('msg_1', (d) => recordAttempt(d, 'A', { ok: true, status: 200 }, at(1011), schedule)))?.changed).toBe(false); // a stale sender
      const ok = await store.webhooks.update('msg_1', (d) => recordAttempt(d, 'B', { ok: true, status: 204 }, at(1012), schedule));
      expect(ok?.delivery).toMatchObject({ status: 'delivered', deliveredAt: at(1012).toISOString(), lastStatus: 204 });
      expect(ok?.delivery.lastError).toBeUndefined();
      expect(await store.webhooks.due(at(100_000), 10)).toEqual([]);
      expect((await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'C', at(100_000), 30_000)))?.changed).toBe(false);
      expect(await store.webhooks.update('nope', (d) => claimDelivery(d, 'C', t0, 1))).toBeNull();
    });

    it('takes over a claim whose lease ran out (its sender died) and gives up after the retry window', async () => {
      await store.webhooks.enqueue(delivery('msg_1'), t0);
      await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'dead', t0, 100));
      expect((await store.webhooks.update('msg_1', (d) => claimDelivery(d, 'B', at(101), 100)))?.delivery.claimToken).toBe('B');
      const last = await store.webhooks.update('msg_1', (d) => recordAttempt(d, 'B', { ok: false, error: 'connection refused' }, at(9_500), schedule));
      expect(last?.delivery.status).toBe('failed');
    });
  });
}

/** Many claimers on two instances of one database: exactly one wins each delivery. */
export function describeWebhookClaimRace(pair: () => [TaskStore, TaskStore]): void {
  it('gives each delivery to exactly one of 20 claimers on two instances', async () => {
    const [a, b] = pair();
    for (let round = 0; round < 3; round++) {
      const id = `msg_race_${round}`;
      await a.webhooks.enqueue(delivery(id), t0);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).webhooks.update(id, (d) => claimDelivery(d, `c${i}`, at(1), 30_000))));
      expect(results.filter((r) => r?.changed)).toHaveLength(1);
    }
  });
}
