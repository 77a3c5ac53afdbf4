/** Webhook deliveries → wire representation. */
import type { WebhookDelivery } from '../models/webhook.js';

export const presentDelivery = (d: WebhookDelivery) => ({
  id: d.id,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  created_at: d.createdAt,
  next_attempt_at: d.status === 'pending' ? d.nextAttemptAt : null,
  delivered_at: d.deliveredAt ?? null,
  last_status: d.lastStatus ?? null,
  last_error: d.lastError ?? null,
  payload: JSON.parse(d.payload) as unknown,
});
