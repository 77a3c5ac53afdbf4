/**
 * Sends one webhook attempt: a signed POST through the SSRF guard (literal IPs by checkTarget, names by the
 * guarded lookup at connect time), no redirects, a timeout. Any 2xx is success.
 */
import { Agent, request } from 'undici';
import { guardedLookup, type AddressPolicy } from '../scrape/address-guard.js';
import { checkTarget, parseUrl } from '../scrape/target-url.js';
import type { AttemptOutcome } from '../models/webhook.js';
import type { SignedHeaders } from './signature.js';

export interface WebhookSender {
  send(url: string, body: string, headers: SignedHeaders): Promise<AttemptOutcome>;
  close(): Promise<void>;
}

export function createWebhookSender(opts: { policy: AddressPolicy; timeoutMs: number; userAgent: string }): WebhookSender {
  const agent = new Agent({ connect: { lookup: guardedLookup(opts.policy), timeout: opts.timeoutMs }, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
  return {
    async send(url, body, headers) {
      try {
        const target = checkTarget(parseUrl(url), opts.policy);
        const res = await request(target, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'user-agent': opts.userAgent, ...headers },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
        if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode };
        return { ok: false, status: res.statusCode, error: `HTTP ${res.statusCode}` };
      } catch (err) {
        return { ok: false, error: (err as Error).message.slice(0, 300) };
      }
    },
    close: () => agent.close(),
  };
}
