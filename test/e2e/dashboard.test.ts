/// <reference lib="dom" />
/**
 * /dashboard in a real browser: Debian's Chromium driven by puppeteer-core, against a service with finished
 * and failed tasks, API keys on and /media/ behind them too. The numbers on the page are checked against
 * the API; a screenshot is saved under test-output/ (TEST_OUTPUT_DIR) for people to look at.
 */
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { describeWithService } from '../helpers/services.js';
import { withSiteAndService } from '../helpers/service.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
process.env.CHROMIUM_BIN ??= CANDIDATES.find((f) => fs.existsSync(f));
const OUT = path.resolve(process.env.TEST_OUTPUT_DIR ?? 'test-output', 'dashboard');
const ADMIN = 'dashboard-admin-key-0123456789abcdef';

describeWithService('CHROMIUM_BIN', 'dashboard in Chromium', (chromium) => {
  const ctx = withSiteAndService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, MEDIA_ACCESS: 'keys' }, (site) => {
    for (let i = 0; i < 4; i++) {
      site.serve(`/gallery/${i}`, `<html><title>g${i}</title><img src="/img/${i}a.png" alt="a"><img src="/img/${i}b.png"></html>`, 'text/html');
      site.serve(`/img/${i}a.png`, png(40 + i * 8, 30, 10 + i), 'image/png');
      site.serve(`/img/${i}b.png`, png(30, 40 + i * 8, 20 + i), 'image/png');
    }
    site.serve('/article', '<html><title>a</title><p>some text</p></html>', 'text/html');
    site.serve('/missing', 'gone', 'text/plain', 404);
    site.serve('/notes.txt', 'plain text is kept as it is', 'text/plain');
    site.route('/reserved', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html', 'x-robots-tag': 'noai' }).end('<p>no AI training here</p>'));
  });
  let browser: Browser | undefined;
  let batchId = '';

  beforeAll(async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const base = ctx.svc.url;
    const post = async (kind: 'text' | 'images', p: string) => {
      const res = await request(base).post(`/${kind}_tasks`).set(auth).send({ url: ctx.site.url(p) }).expect(202);
      return res.headers.location as string;
    };
    const locations = [
      ...(await Promise.all([0, 1, 2, 3].map((i) => post('images', `/gallery/${i}`)))),
      await post('text', '/article'), await post('text', '/missing'), await post('text', '/notes.txt'), await post('images', '/missing'),
      await post('text', '/reserved'),
    ];
    // A batch of two text tasks (one fails): the batches panel shows its progress.
    const batch = await request(base).post('/batches').set(auth).send({ urls: [ctx.site.url('/article'), ctx.site.url('/missing')], kinds: ['text'] }).expect(202);
    batchId = batch.body.id as string;
    for (;;) {
      const b = await request(base).get(`/batches/${batchId}`).set(auth).expect(200);
      if (b.body.counts.finished === 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const loc of locations) {
      for (;;) {
        const t = await request(base).get(loc).set(auth).expect(200);
        if (t.body.status === 'succeeded' || t.body.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the numbers the API gives, the failures, the gallery, and the batches with their progress', async () => {
    const page = await browser!.newPage();
    await page.setViewport({ width: 1366, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${ctx.svc.url}/dashboard`, { waitUntil: 'load' });
    // AUTH=keys: the page asks for a key first.
    await page.waitForFunction(() => document.getElementById('updated')?.textContent?.includes('401'));
    await page.type('#key', ADMIN);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) >= 1, { timeout: 20_000 });
    // MEDIA_ACCESS=keys: each image fails once without the key, then loads from a blob: URL fetched with it.
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#gallery img')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), { timeout: 20_000 });

    const stats = (await request(ctx.svc.url).get('/stats').query({ interval: 'day' }).set({ authorization: `Bearer ${ADMIN}` }).expect(200)).body.totals;
    const shown = await page.evaluate(() => {
      // WCAG 2 contrast of every element's own text against the nearest opaque background behind it (AA: 4.5:1).
      const lowContrastTexts = () => {
        const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const lum = (c: number[]) => {
          const [r, g, b] = c.slice(0, 3).map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
          return 0.2126 * (r as number) + 0.7152 * (g as number) + 0.0722 * (b as number);
        };
        const background = (el: Element | null): number[] => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c[3] ?? 0) > 0.99) return c;
          }
          return [255, 255, 255];
        };
        const bad: string[] = [];
        for (const el of Array.from(document.querySelectorAll('body *'))) {
          const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent?.trim());
          if (!own || el.closest('svg')) continue;
          const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          if (ratio < 4.5) bad.push(`${el.tagName} "${el.textContent?.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
        }
        return bad;
      };
      const text = (sel: string) => document.querySelector(sel)?.textContent?.trim() ?? null;
      return {
        pages: text('[data-metric="pages"]'),
        images: text('[data-metric="images"]'),
        rights: text('[data-metric="rights_refusals"]'),
        rightsBySite: Array.from(document.querySelectorAll('#rights td[data-host]')).map((td) => [td.getAttribute('data-host'), td.textContent]),
        whose: text('#whose'),
        blobImages: Array.from(document.querySelectorAll('#gallery img')).filter((i) => (i as HTMLImageElement).src.startsWith('blob:')).length,
        textOk: text('tr[data-kind="text"] [data-col="succeeded"]'),
        textFailed: text('tr[data-kind="text"] [data-col="failed"]'),
        imagesOk: text('tr[data-kind="images"] [data-col="succeeded"]'),
        imagesFailed: text('tr[data-kind="images"] [data-col="failed"]'),
        queued: text('tr[data-kind="text"] [data-col="queued"]'),
        httpError: text('[data-code="http_error"]'),
        finished: text('[data-metric="finished_last_hour"]'),
        failures: Array.from(document.querySelectorAll('#failures tr[data-task]')).map((r) => r.textContent ?? ''),
        gallery: document.querySelectorAll('#gallery img').length,
        brokenImages: Array.from(document.querySelectorAll('#gallery img')).filter((i) => (i as HTMLImageElement).naturalWidth === 0).length,
        batches: Array.from(document.querySelectorAll('#batches progress')).map((p) => [p.getAttribute('aria-label'), p.getAttribute('value'), p.getAttribute('max')]),
        unlabelled: Array.from(document.querySelectorAll('input')).filter((i) => !document.querySelector(`label[for="${i.id}"]`)).length,
        imgWithoutAlt: Array.from(document.querySelectorAll('img')).filter((i) => !i.getAttribute('alt')).length,
        lowContrast: lowContrastTexts(),
      };
    });
    expect(shown).toEqual({
      pages: String(stats.pages),
      images: String(stats.images),
      rights: '1',
      rightsBySite: [['127.0.0.1', '1']],
      whose: "Showing everyone's work.",
      blobImages: 8,
      textOk: String(stats.tasks.text.succeeded),
      textFailed: String(stats.tasks.text.http_error + stats.tasks.text.rights_reserved),
      imagesOk: String(stats.tasks.images.succeeded),
      imagesFailed: String(stats.tasks.images.http_error),
      queued: '0',
      httpError: String(stats.tasks.text.http_error + stats.tasks.images.http_error),
      finished: '11 finished in the last hour',
      failures: expect.any(Array),
      gallery: 8,
      brokenImages: 0,
      batches: [[`batch ${batchId}: 2 of 2 done`, '2', '2']],
      unlabelled: 0,
      imgWithoutAlt: 0,
      lowContrast: [],
    });
    expect(stats.tasks).toEqual({ images: { succeeded: 4, http_error: 1 }, text: { succeeded: 3, http_error: 2, rights_reserved: 1 } });
    expect(shown.failures).toHaveLength(4);
    expect(shown.failures.some((f) => f.includes(ctx.site.url('/reserved')) && f.includes('rights_reserved'))).toBe(true);
    expect(shown.failures.some((f) => f.includes(ctx.site.url('/missing')) && f.includes('http_error') && f.includes('HTTP 404'))).toBe(true);
    expect(errors).toEqual([]);

    fs.mkdirSync(OUT, { recursive: true });
    const file = path.join(OUT, 'dashboard.png');
    await page.screenshot({ path: file as `${string}.png`, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    await page.close();
  }, 60_000);

  it('refreshes itself', async () => {
    const page = await browser!.newPage();
    await page.evaluateOnNewDocument((key: string) => sessionStorage.setItem('scrapeds-key', key), ADMIN);
    await page.goto(`${ctx.svc.url}/dashboard?refresh=2`);
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) >= 1, { timeout: 20_000 });
    // A task finished after the first load shows up at the next refresh, with nobody touching the page.
    const before = await page.$eval('tr[data-kind="text"] [data-col="succeeded"]', (e) => e.textContent);
    const loc = await request(ctx.svc.url).post('/text_tasks').set({ authorization: `Bearer ${ADMIN}` }).send({ url: ctx.site.url('/article') }).expect(202);
    for (;;) {
      const t = await request(ctx.svc.url).get(loc.headers.location as string).set({ authorization: `Bearer ${ADMIN}` }).expect(200);
      if (t.body.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await page.waitForFunction((b: string | null) => document.querySelector('tr[data-kind="text"] [data-col="succeeded"]')?.textContent !== b, { timeout: 20_000 }, before);
    expect(await page.$eval('#updated', (e) => e.textContent)).toContain('refreshes every 2 s');
    await page.close();
  }, 60_000);

  it("shows a non-admin key its own work only, and keeps the key out of every URL", async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const made = await request(ctx.svc.url).post('/admin/keys').set(auth).send({ scopes: ['read', 'write'], name: 'dash-user' }).expect(201);
    const own = { authorization: `Bearer ${made.body.key}` };
    const loc = (await request(ctx.svc.url).post('/text_tasks').set(own).send({ url: ctx.site.url('/article') }).expect(202)).headers.location as string;
    for (;;) {
      const t = await request(ctx.svc.url).get(loc).set(own).expect(200);
      if (t.body.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const page = await browser!.newPage();
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await page.goto(`${ctx.svc.url}/dashboard`);
    await page.type('#key', made.body.key as string);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) >= 1, { timeout: 20_000 });
    const shown = await page.evaluate(() => ({
      whose: document.getElementById('whose')?.textContent,
      textOk: document.querySelector('tr[data-kind="text"] [data-col="succeeded"]')?.textContent,
      imagesOk: document.querySelector('tr[data-kind="images"] [data-col="succeeded"]')?.textContent,
      failures: document.querySelectorAll('#failures tr[data-task]').length,
      gallery: document.querySelectorAll('#gallery img').length,
      batches: document.getElementById('batches')?.textContent,
      rights: document.querySelector('[data-metric="rights_refusals"]')?.textContent,
    }));
    expect(shown).toEqual({ whose: `Showing the work of key ${made.body.id} only.`, textOk: '1', imagesOk: '0', failures: 0, gallery: 0, batches: 'No batches.', rights: '0' });
    expect(urls.filter((u) => u.includes(made.body.key as string) || u.includes(ADMIN))).toEqual([]);
    await page.close();
  }, 60_000);
});
