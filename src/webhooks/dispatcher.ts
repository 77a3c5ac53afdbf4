/**
 * Delivers due webhooks from the store, in every worker process: claim (so no other process sends it),
 * sign, send, record the attempt. A process that dies mid-send leaves a claim that expires after the lease,
 * so the delivery is retried elsewhere; a delivered one is never sent again.
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import { claimDelivery, recordAttempt, type RetrySchedule } from '../models/webhook.js';
import { sleep } from '../util/sleep.js';
import type { WebhookSender } from './sender.js';
import { signHeaders } from './signature.js';

export interface DispatcherOptions {
  store: TaskStore;
  sender: WebhookSender;
  log: Logger;
  schedule: RetrySchedule;
  pollMs: number;
  /** Longer than a send can take (its timeout): a live sender's claim never expires under it. */
  leaseMs: number;
  concurrency: number;
}

export function startWebhookDispatcher(o: DispatcherOptions): { close(): Promise<void> } {
  const stop = new AbortController();
  const limit = pLimit(o.concurrency);

  async function deliver(id: string): Promise<boolean> {
    const token = randomUUID();
    const claimed = await o.store.webhooks.update(id, (d) => claimDelivery(d, token, new Date(), o.leaseMs));
    if (!claimed?.changed) return false;
    const d = claimed.delivery;
    const endpoint = await o.store.webhooks.getEndpoint(d.ownerId);
    const outcome = endpoint
      ? await o.sender.send(d.url, d.payload, signHeaders(endpoint.secret, d.id, d.payload, new Date()))
      : ({ ok: false, error: 'endpoint removed' } as const);
    const after = await o.store.webhooks.update(id, (cur) => recordAttempt(cur, token, outcome, new Date(), o.schedule));
    const status = after?.delivery.status;
    if (status === 'delivered') o.log.debug({ deliveryId: id, event: d.event }, 'webhook delivered');
    else o.log.info({ deliveryId: id, event: d.event, attempt: d.attempts, status, error: outcome.ok ? undefined : outcome.error }, 'webhook attempt failed');
    return true;
  }

  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        const ids = await o.store.webhooks.due(new Date(), o.concurrency * 4);
        const sent = await Promise.all(ids.map((id) => limit(() => deliver(id))));
        if (sent.some(Boolean)) continue; // more may be due at once; nothing sent (claimed elsewhere): wait
      } catch (err) {
        if (!stop.signal.aborted) o.log.error({ err }, 'webhook dispatch failed');
      }
      await sleep(o.pollMs, stop.signal).catch(() => {});
    }
  })();

  return {
    async close() {
      stop.abort();
      await loop;
      await o.sender.close();
    },
  };
}
