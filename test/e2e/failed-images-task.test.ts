/**
 * An images task that fails for a reason not an image's own (here: its media directory is on a full disk)
 * gives back its image claims and cancels its own downloads: a retry of the page proceeds at once, without
 * waiting CLAIM_STALE_MS, and the site sees no more requests from the failed task.
 */
import fs from 'node:fs';
import path from 'node:path';
import { png } from '../fixtures/images.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startTestService, submit, tempDir, waitForTask, type TestService } from '../helpers/service.js';
import { describeWithTmpfs } from '../helpers/tmpfs.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeWithTmpfs('an images task failing on a full media disk', 8 * 1024 * 1024, (tmpfs) => {
  let site: FixtureSite;
  let svc: TestService;
  const images = Array.from({ length: 6 }, (_, i) => `/img/${i}.png`);
  /** While true, every image but the first answers only after 10 s (or when the client gives up). */
  let slow = true;
  /** Image requests the client aborted before their answer. */
  const aborted: string[] = [];

  beforeAll(async () => {
    site = await startFixtureSite();
    images.forEach((p, i) => site.route(p, async (req, res) => {
      if (slow && i > 0) {
        const gaveUp = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 10_000);
          res.once('close', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (gaveUp) return void aborted.push(p);
      }
      res.writeHead(200, { 'content-type': 'image/png' }).end(png(4, 4, 300 + i));
    }));
    site.serve('/gallery', images.map((p) => `<img src="${p}">`).join(''), 'text/html');
    const dataDir = tempDir();
    fs.symlinkSync(tmpfs().dir, path.join(dataDir, 'media'));
    // A claim left behind would hold a retry up for a day: far past this test's timeout.
    svc = await startTestService({ IMAGE_CONCURRENCY: '2', CLAIM_STALE_MS: '86400000' }, dataDir);
  });
  afterAll(async () => {
    await svc?.close();
    await site?.close();
  });

  it('releases its claims and cancels its downloads, so a retry proceeds at once', async () => {
    tmpfs().fill();
    const failed = await waitForTask(svc.url, await submit(svc.url, 'images', site.url('/gallery')));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'storage_error' } });

    // Every download it had started was cancelled, and it started none after failing.
    const hitsAtFailure = images.map((p) => site.hits(p));
    const started = images.filter((p, i) => i > 0 && site.hits(p) > 0);
    expect(started.length).toBeGreaterThan(0);
    // The site sees each cancelled request close a moment after the client gave up (10 s if it never does).
    for (let waited = 0; aborted.length < started.length && waited < 5000; waited += 50) await sleep(50);
    expect(aborted.sort()).toEqual(started.sort());
    await sleep(1000);
    expect(images.map((p) => site.hits(p))).toEqual(hitsAtFailure);
    expect(images.filter((p) => site.hits(p) === 0).length).toBeGreaterThan(0);

    tmpfs().free();
    slow = false;
    const retry = await waitForTask(svc.url, await submit(svc.url, 'images', site.url('/gallery')));
    expect(retry).toMatchObject({ status: 'succeeded', counts: { found: 6, stored: 6, failed: 0 } });
  });
});
