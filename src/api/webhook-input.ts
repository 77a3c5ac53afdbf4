/**
 * The `webhook` option of batch and task submissions: `{"url", "secret"?, "events"?}`. The URL passes the
 * SSRF guard here, before anything is stored: a literal address by checkTarget, a name by resolving it
 * (no connection is made) and judging every address, as the guarded lookup does at send time.
 */
import dns from 'node:dns/promises';
import { z } from 'zod';
import { isAddressAllowed, type AddressPolicy } from '../scrape/address-guard.js';
import { ScrapeError } from '../scrape/scrape-error.js';
import { checkTarget } from '../scrape/target-url.js';
import { WEBHOOK_EVENTS, type WebhookEndpoint, type WebhookEvent, type WebhookOwner } from '../models/webhook.js';
import { newSecret, secretKey } from '../webhooks/signature.js';
import { invalid } from './problem.js';
import { httpUrl } from './validation.js';

export const webhookEvents = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(', ')}` }), { error: 'must be an array of event names' })
  .optional()
  .default([]);

export const webhookSecret = z.string({ error: 'must be a string' }).refine((s) => secretKey(s) !== null, 'must be whsec_ followed by base64 of 24 to 64 bytes');

export const webhookSpec = z.strictObject(
  { url: httpUrl, secret: webhookSecret.optional(), events: webhookEvents },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be an object {url, secret?, events?}') },
);

export interface WebhookInput {
  url: string;
  secret?: string;
  events: WebhookEvent[];
}

/** The system resolver; tests pass their own to judge names without DNS. */
export type ResolveAll = (hostname: string) => Promise<string[]>;
const systemResolve: ResolveAll = async (hostname) => (await dns.lookup(hostname, { all: true })).map((a) => a.address);

/** Throws a 400 naming `field` when the guard would refuse the webhook's target. */
export async function checkWebhookTarget(url: string, policy: AddressPolicy, field: string, resolve: ResolveAll = systemResolve): Promise<void> {
  const refuse = (why: string) => invalid([{ field, message: `is refused by the SSRF guard: ${why} (set ALLOW_PRIVATE_NETWORKS or ALLOW_CIDRS to allow it)` }]);
  let target: URL;
  try {
    target = checkTarget(new URL(url), policy);
  } catch (err) {
    throw err instanceof ScrapeError ? refuse(err.message) : err;
  }
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (policy.allowPrivate || /^[\d.]+$|:/.test(host)) return; // a literal address was judged above
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    throw invalid([{ field, message: `names a host that does not resolve: ${host}` }]);
  }
  const bad = addresses.find((a) => !isAddressAllowed(a, policy));
  if (bad) throw refuse(`${host} resolves to ${bad}, a private or reserved address`);
}

export function toEndpoint(input: WebhookInput, owner: WebhookOwner, ownerId: string, now = new Date()): WebhookEndpoint {
  return { ownerId, owner, url: input.url, secret: input.secret ?? newSecret(), events: input.events, createdAt: now.toISOString() };
}

/** What the 202 shows: the secret once, at creation (the receiver needs it to verify signatures). */
export const presentEndpoint = (e: WebhookEndpoint) => ({ url: e.url, events: e.events, secret: e.secret });
