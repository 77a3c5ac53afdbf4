/**
 * WebhookStore on MongoDB. A delivery's claim and attempt go through the revision tickets (revision.ts):
 * FerretDB v1 applies no conditional update atomically, and two workers must never both claim one delivery.
 */
import { decodeTaskCursor, encodeTaskCursor } from '../ids.js';
import { checkPageLimit, pageOf } from '../paging.js';
import type { Page } from '../task.js';
import { newDelivery, type DeliveryChange, type NewDelivery, type WebhookDelivery, type WebhookEndpoint } from '../webhook.js';
import type { WebhookStore } from '../webhook-store.js';
import type { Models } from './models.js';
import type { Change, Revisions } from './revision.js';
import { isDuplicateKey } from './write-errors.js';
import type { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook-model.js';

function toDelivery(d: WebhookDeliveryDoc): WebhookDelivery {
  const { _id, rev: _rev, ...rest } = d;
  const out = { id: _id, ...rest } as WebhookDelivery & Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === null || out[k] === undefined) delete out[k];
  return out;
}

/** A change with `undefined` values turned into removals, which is what they mean. */
function toChange(c: DeliveryChange): Change {
  const set: Record<string, unknown> = {};
  const unset: string[] = [...(c.unset ?? [])];
  for (const [k, v] of Object.entries(c.set)) {
    if (v === undefined) unset.push(k);
    else set[k] = v;
  }
  return { set, unset };
}

export class MongoWebhookStore implements WebhookStore {
  constructor(private readonly m: Models, private readonly revisions: Revisions) {}

  async setEndpoint(e: WebhookEndpoint): Promise<void> {
    const { ownerId, ...rest } = e;
    await this.m.webhookEndpoints.replaceOne({ _id: ownerId }, { _id: ownerId, ...rest }, { upsert: true }).exec();
  }

  async getEndpoint(ownerId: string): Promise<WebhookEndpoint | null> {
    const d = await this.m.webhookEndpoints.findById(ownerId).lean<WebhookEndpointDoc>().exec();
    if (!d) return null;
    const { _id, ...rest } = d;
    return { ownerId: _id, ...rest, events: [...rest.events] };
  }

  async enqueue(input: NewDelivery, now: Date): Promise<boolean> {
    const { id, ...rest } = newDelivery(input, now);
    try {
      await this.m.webhookDeliveries.create({ _id: id, ...rest, rev: 0 });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async due(now: Date, limit: number): Promise<string[]> {
    const docs = await this.m.webhookDeliveries
      .find({ status: 'pending', nextAttemptAt: { $lte: now.toISOString() } }, { _id: 1 })
      .sort({ nextAttemptAt: 1 }).limit(limit).lean<Array<{ _id: string }>>().exec();
    return docs.map((d) => d._id);
  }

  async update(id: string, decide: (d: WebhookDelivery) => DeliveryChange | null) {
    const result = await this.revisions.update<WebhookDeliveryDoc>('webhook', this.m.webhookDeliveries, id, (doc) => {
      const change = decide(toDelivery(doc));
      return change ? toChange(change) : null;
    });
    return result ? { delivery: toDelivery(result.doc), changed: result.changed } : null;
  }

  async listDeliveries(ownerId: string, query: { limit: number; cursor?: string }): Promise<Page<WebhookDelivery>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const filter: Record<string, unknown> = { ownerId };
    if (after) filter.$or = [{ createdAt: { $gt: after.createdAt } }, { createdAt: after.createdAt, _id: { $gt: after.id } }];
    const docs = await this.m.webhookDeliveries.find(filter).sort({ createdAt: 1, _id: 1 }).limit(query.limit + 1).lean<WebhookDeliveryDoc[]>().exec();
    return pageOf(docs.map(toDelivery), query.limit, (d) => encodeTaskCursor(d.createdAt, d.id));
  }
}
