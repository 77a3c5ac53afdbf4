/**
 * The upper bound of this stack: undici + cheerio (htmlparser2 mode, as the service) + fs, no store, no queue.
 * Fetches every page, writes its text, fetches every distinct image once, writes it under its sha256.
 * Speaks the harness protocol (lib/proc.mjs). Argument: JSON {base, pages: [paths], concurrency, outDir, images: false for the text-only job}.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readyAndWaitForGo, reportAndExitWhenReleased } from '../lib/proc.mjs';
import { rootRequire } from '../lib/root-deps.mjs';
import { semaphore } from '../lib/semaphore.mjs';

const { Agent, request } = rootRequire('undici');
const { load } = rootRequire('cheerio/slim');

const { base, pages, concurrency, outDir, images: withImages = true } = JSON.parse(process.argv[2]);
const agent = new Agent({ connections: concurrency });
const limit = semaphore(concurrency);
const headers = { 'user-agent': 'scrapeds-bench-raw/1' };

async function get(url) {
  return limit(async () => {
    const res = await request(url, { dispatcher: agent, headers });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
    return body;
  });
}

await fs.mkdir(path.join(outDir, 'text'), { recursive: true });
await fs.mkdir(path.join(outDir, 'images'), { recursive: true });
await readyAndWaitForGo();

const t0 = performance.now();
const seen = new Set();
let pagesDone = 0;
let imagesDone = 0;
let failed = 0;
await Promise.all(
  pages.map(async (p, n) => {
    const pageUrl = new URL(p, base).href;
    const html = (await get(pageUrl)).toString('utf8');
    const $ = load(html, { xml: { xmlMode: false, decodeEntities: true } });
    const images = $('img[src]')
      .map((_, el) => new URL($(el).attr('src'), pageUrl).href)
      .get();
    $('script, style, noscript').remove();
    const text = $('body').text().replace(/\s+/g, ' ').trim();
    await fs.writeFile(path.join(outDir, 'text', `${n}.txt`), text);
    pagesDone++;
    if (!withImages) return;
    await Promise.all(
      images
        .filter((u) => !seen.has(u) && seen.add(u))
        .map(async (u) => {
          try {
            const body = await get(u);
            const sha = createHash('sha256').update(body).digest('hex');
            await fs.writeFile(path.join(outDir, 'images', `${sha}.png`), body);
            imagesDone++;
          } catch {
            failed++;
          }
        }),
    );
  }),
);
const seconds = (performance.now() - t0) / 1000;
await agent.close();
reportAndExitWhenReleased({ seconds, pages: pagesDone, images: imagesDone, failed });
