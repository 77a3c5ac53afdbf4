/** The webhook part of the persistence port; every TaskStore adapter offers one as `store.webhooks`. */
import type { Page } from './task.js';
import type { DeliveryChange, NewDelivery, WebhookDelivery, WebhookEndpoint } from './webhook.js';

export interface WebhookStore {
  /** One endpoint per owner, written before the owner's first job is dispatched. */
  setEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  getEndpoint(ownerId: string): Promise<WebhookEndpoint | null>;
  /** Inserts a pending delivery due now; false (and nothing changed) when one with this id exists. */
  enqueue(delivery: NewDelivery, now: Date): Promise<boolean>;
  /** Ids of pending deliveries due by `now`, oldest due first. */
  due(now: Date, limit: number): Promise<string[]>;
  /**
   * Applies `decide` to the delivery atomically with respect to every other update (the claim and the
   * attempt rules in webhook.ts). The delivery after, and whether it changed; null when unknown.
   */
  update(id: string, decide: (d: WebhookDelivery) => DeliveryChange | null): Promise<{ delivery: WebhookDelivery; changed: boolean } | null>;
  /** An owner's deliveries, oldest first. Unreadable cursor: InvalidCursorError. */
  listDeliveries(ownerId: string, query: { limit: number; cursor?: string }): Promise<Page<WebhookDelivery>>;
}
