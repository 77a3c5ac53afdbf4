/**
 * A webhook receiver on 127.0.0.1 for tests. It verifies each request with its own few lines of node:crypto
 * (Standard Webhooks: HMAC-SHA256 of "id.timestamp.body", key = base64 after "whsec_"), independently of
 * the service's signing code, and answers what the test tells it to.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  id: string;
  timestamp: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  event: { type: string; timestamp: string; data: Record<string, unknown> };
  verified: boolean;
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  received: Received[];
  /** Answers this status to the first attempt of every message (then 204), or to every attempt with `always`. */
  fail(status: number, mode: 'first' | 'always'): void;
  succeed(): void;
  close(): Promise<void>;
}

export function verify(secret: string, headers: http.IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const id = String(headers['webhook-id']);
  const ts = String(headers['webhook-timestamp']);
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  // The header may carry several space-separated signatures; any v1 match is enough.
  return String(headers['webhook-signature']).split(' ').some((s) => {
    const [version, sig] = s.split(',');
    const got = Buffer.from(sig ?? '', 'base64');
    return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export async function startWebhookReceiver(secret = `whsec_${Buffer.from('a test secret of 32 bytes length').toString('base64')}`): Promise<WebhookReceiver> {
  let mode: { status: number; when: 'first' | 'always' } | undefined;
  const seen = new Set<string>();
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const first = !seen.has(id);
      seen.add(id);
      const answered = mode && (mode.when === 'always' || first) ? mode.status : 204;
      received.push({ id, timestamp: Number(req.headers['webhook-timestamp']), body, headers: req.headers, event: JSON.parse(body), verified: verify(secret, req.headers, body), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    secret,
    received,
    fail: (status, when) => void (mode = { status, when }),
    succeed: () => void (mode = undefined),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
