/** Helpers for batch tests: a small dataset site on the fixture server, and waiting for a batch. */
import request from 'supertest';
import type { FixtureSite } from '../fixtures/site.js';
import { gif, jpeg, png } from '../fixtures/images.js';

export interface DatasetSite {
  pages: string[];
  /** Image path → bytes. */
  images: Record<string, Buffer>;
}

/** Three pages with text and images; page 3 shares an image with page 1; `/broken` answers 500. */
export function serveDatasetSite(site: FixtureSite): DatasetSite {
  const images: Record<string, Buffer> = {
    '/img/a.png': png(3, 2, 1),
    '/img/b.jpg': jpeg(5, 7),
    '/img/c.gif': gif(),
    '/img/d.png': png(8, 4, 9),
  };
  for (const [p, body] of Object.entries(images)) {
    site.serve(p, body, p.endsWith('.gif') ? 'image/gif' : p.endsWith('.jpg') ? 'image/jpeg' : 'image/png');
  }
  const html = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;
  site.serve('/one', html('One', '<p>First page text.</p><img src="/img/a.png" alt="a red square"><img src="/img/b.jpg">'), 'text/html; charset=utf-8');
  site.serve('/two', html('Two', '<p>Zweite Seite, mit Umlauten: äöü.</p><figure><img src="/img/c.gif"><figcaption>A gif</figcaption></figure>'), 'text/html; charset=utf-8');
  site.serve('/three', html('Three', '<p>Third.</p><img src="/img/a.png"><img src="/img/d.png"><img src="/img/missing.png">'), 'text/html; charset=utf-8');
  site.serve('/broken', 'nope', 'text/plain', 500);
  return { pages: ['/one', '/two', '/three'].map((p) => site.url(p)), images };
}

export type ApiBatch = Record<string, unknown> & { id: string; status: string; counts: Record<string, number> };

/** Polls a batch until no task is queued or running. */
export async function waitForBatch(baseUrl: string, id: string, timeoutMs = 25_000): Promise<ApiBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(baseUrl).get(`/batches/${id}`).expect(200);
    const b = res.body as ApiBatch;
    if ((b.counts.queued ?? 0) + (b.counts.running ?? 0) === 0) return b;
    if (Date.now() > deadline) throw new Error(`batch ${id} unfinished after ${timeoutMs} ms: ${JSON.stringify(b.counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const ndjson = (urls: string[]): string => urls.map((url) => JSON.stringify({ url })).join('\n') + '\n';
