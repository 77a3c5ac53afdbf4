/** The `webhook_endpoints` and `webhook_deliveries` collections. Times are ISO strings: one fixed format compares in order. */
import { Schema } from 'mongoose';
import type { WebhookDelivery, WebhookEndpoint } from '../webhook.js';

export type WebhookEndpointDoc = Omit<WebhookEndpoint, 'ownerId'> & { _id: string };
export type WebhookDeliveryDoc = Omit<WebhookDelivery, 'id'> & { _id: string; rev: number };

export const webhookEndpointSchema = new Schema<WebhookEndpointDoc>(
  {
    _id: { type: String, required: true },
    owner: { type: String, required: true },
    url: { type: String, required: true },
    secret: { type: String, required: true },
    events: { type: [String], required: true },
    createdAt: { type: String, required: true },
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);

export const webhookDeliverySchema = new Schema<WebhookDeliveryDoc>(
  {
    _id: { type: String, required: true },
    ownerId: { type: String, required: true },
    event: { type: String, required: true },
    url: { type: String, required: true },
    payload: { type: String, required: true },
    status: { type: String, required: true },
    attempts: { type: Number, required: true },
    createdAt: { type: String, required: true },
    nextAttemptAt: { type: String, required: true },
    claimToken: String,
    claimedUntil: String,
    deliveredAt: String,
    lastStatus: Number,
    lastError: String,
    rev: { type: Number, required: true },
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);
webhookDeliverySchema.index({ status: 1, nextAttemptAt: 1 });
webhookDeliverySchema.index({ ownerId: 1, createdAt: 1, _id: 1 });
