/**
 * Webhook endpoints and deliveries, and the rules that move a delivery: claim before sending (so one
 * delivery is never sent by two processes at once, and never again once an endpoint took it), then
 * delivered, or pending again after a backoff, or failed once the retry window has passed.
 * Pure decisions over a record; the adapters only load and save.
 */

/** Who an endpoint belongs to: a batch (crawls are batches) or a single task. */
export type WebhookOwner = 'batch' | 'task';

export const WEBHOOK_EVENTS = [
  'batch.started', 'batch.task_finished', 'batch.completed', 'batch.failed',
  // A crawl is a batch: its endpoint hears these in place of the batch events.
  'crawl.started', 'crawl.page_finished', 'crawl.completed', 'crawl.failed',
  'task.started', 'task.completed', 'task.failed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEndpoint {
  ownerId: string;
  owner: WebhookOwner;
  url: string;
  /** `whsec_` + base64 of the HMAC key. */
  secret: string;
  /** Empty: every event of its owner. */
  events: WebhookEvent[];
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  /** `msg_…`, the `webhook-id` header: derived from what happened, so an event recorded twice is one delivery. */
  id: string;
  ownerId: string;
  event: WebhookEvent;
  url: string;
  /** The exact JSON body sent (and signed) on every attempt. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  /** Set while a process is sending it; another process may take it over after `claimedUntil`. */
  claimToken?: string;
  claimedUntil?: string;
  deliveredAt?: string;
  lastStatus?: number;
  lastError?: string;
}

export type NewDelivery = Pick<WebhookDelivery, 'id' | 'ownerId' | 'event' | 'url' | 'payload'>;

export interface RetrySchedule {
  /** Wait after the first failed attempt; each later one waits 4× longer, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No attempt starts later than this after the event (24 h). */
  windowMs: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { baseDelayMs: 5_000, maxDelayMs: 10 * 3_600_000, windowMs: 24 * 3_600_000 };

/** Fields to set and to clear on a delivery. */
export interface DeliveryChange {
  set: Partial<WebhookDelivery>;
  unset?: Array<'claimToken' | 'claimedUntil'>;
}

const ms = (iso: string) => Date.parse(iso);

/** A pending delivery that is due and not held by a live claim may be claimed. */
export function claimDelivery(d: WebhookDelivery, token: string, now: Date, leaseMs: number): DeliveryChange | null {
  if (d.status !== 'pending' || ms(d.nextAttemptAt) > now.getTime()) return null;
  if (d.claimedUntil && ms(d.claimedUntil) > now.getTime()) return null;
  const until = new Date(now.getTime() + leaseMs).toISOString();
  // Not due again before the lease ends: other processes stop seeing it until then.
  return { set: { claimToken: token, claimedUntil: until, nextAttemptAt: until, attempts: d.attempts + 1 } };
}

export type AttemptOutcome = { ok: true; status: number } | { ok: false; status?: number; error: string };

export function retryDelayMs(attempts: number, s: RetrySchedule): number {
  return Math.min(s.maxDelayMs, s.baseDelayMs * 4 ** Math.max(0, attempts - 1));
}

/** Only the holder of the claim records its attempt; a late sender whose claim was taken over changes nothing. */
export function recordAttempt(d: WebhookDelivery, token: string, outcome: AttemptOutcome, now: Date, s: RetrySchedule): DeliveryChange | null {
  if (d.status !== 'pending' || d.claimToken !== token) return null;
  const clear: DeliveryChange['unset'] = ['claimToken', 'claimedUntil'];
  if (outcome.ok) return { set: { status: 'delivered', deliveredAt: now.toISOString(), lastStatus: outcome.status, lastError: undefined }, unset: clear };
  const next = now.getTime() + retryDelayMs(d.attempts, s);
  const expired = next > ms(d.createdAt) + s.windowMs;
  return {
    set: { status: expired ? 'failed' : 'pending', nextAttemptAt: new Date(next).toISOString(), lastStatus: outcome.status, lastError: outcome.error },
    unset: clear,
  };
}

export function wantsEvent(endpoint: WebhookEndpoint, event: WebhookEvent): boolean {
  return endpoint.events.length === 0 || endpoint.events.includes(event);
}

export function newDelivery(input: NewDelivery, now: Date): WebhookDelivery {
  const at = now.toISOString();
  return { ...input, status: 'pending', attempts: 0, createdAt: at, nextAttemptAt: at };
}

export function applyDeliveryChange(d: WebhookDelivery, change: DeliveryChange): WebhookDelivery {
  const next: WebhookDelivery = { ...d, ...change.set };
  for (const key of change.unset ?? []) delete next[key];
  for (const key of Object.keys(next) as Array<keyof WebhookDelivery>) if (next[key] === undefined) delete next[key];
  return next;
}
