/**
 * Failure semantics of the standalone service (embedded queue): a crashing attempt gives its task back
 * to the queue instead of leaving it `running`, runs again after a backoff, and the last allowed attempt
 * fails the task with attempts_exhausted, saying what went wrong. The crash is real: the content-addressed
 * directory an image must be stored in is blocked by a file, so the blob store's mkdir fails (even as root):
 * a storage_error.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { submit, waitForTask, withSiteAndService } from '../helpers/service.js';

const goodImage = png(5, 4, 7);
const poisonImage = png(6, 4, 8);
const prefixOf = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 2);

describe('failure semantics (standalone)', () => {
  const env = { MAX_ATTEMPTS: '3', RETRY_BACKOFF_MS: '300', RETRY_BACKOFF_MAX_MS: '300', TASK_LEASE_MS: '2000' };
  const ctx = withSiteAndService(env, (site) => {
    site.route('/good.png', (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(goodImage));
    site.route('/poison.png', (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(poisonImage));
    site.route('/flaky.html', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<img src="/good.png">'));
    site.route('/poison.html', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<img src="/poison.png">'));
  });
  const block = (image: Buffer): string => {
    const blocker = path.join(ctx.svc.dataDir, 'media/images', prefixOf(image));
    fs.mkdirSync(path.dirname(blocker), { recursive: true });
    fs.writeFileSync(blocker, 'not a directory');
    return blocker;
  };

  it('queues a task again after a crashed attempt (never leaves it running) and finishes it on the retry', async () => {
    const blocker = block(goodImage);
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/flaky.html'));
    let seen: Record<string, unknown> | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
      const body = (await request(ctx.svc.url).get(location).expect(200)).body as Record<string, unknown>;
      if (body.status === 'queued' && body.attempts === 1) {
        seen = body;
        break;
      }
    }
    // Between the crashed attempt and its retry the task waits in the queue with the reason.
    expect(seen).toMatchObject({ status: 'queued', attempts: 1, error: { code: 'storage_error' } });
    fs.rmSync(blocker);
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({ status: 'succeeded', error: null });
    expect(task.attempts as number).toBeGreaterThanOrEqual(2);
    expect(task.attempts as number).toBeLessThanOrEqual(3);
  });

  it('fails a task whose every attempt crashes with attempts_exhausted after MAX_ATTEMPTS, naming the last failure', async () => {
    block(poisonImage);
    const location = await submit(ctx.svc.url, 'images', ctx.site.url('/poison.html'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'attempts_exhausted' } });
    expect((task.error as { message: string }).message).toMatch(/^gave up after 3 attempts; the last failed with storage_error: the service could not write to its storage/);
    expect(ctx.site.hits('/poison.html')).toBeLessThanOrEqual(3);
  });
});
