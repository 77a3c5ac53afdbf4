/**
 * Work the API refuses (503: the queue is full, or the service is shutting down) leaves no task behind:
 * a client told "no" must not find a failed task of it later, nor a flood leave thousands of them.
 */
import http from 'node:http';
import request from 'supertest';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startTestService, tempDir, waitForTask, type TestService } from '../helpers/service.js';

/** A page that answers only when released: it keeps the one worker busy. */
function holdingPage(site: FixtureSite, path: string): { release(): void } {
  const waiting: http.ServerResponse[] = [];
  let released = false;
  const answer = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><title>held</title><p>held</p></html>');
  site.route(path, (_req, res) => (released ? answer(res) : void waiting.push(res)));
  return {
    release() {
      released = true;
      waiting.splice(0).forEach(answer);
    },
  };
}

async function allTasks(base: string): Promise<Array<{ id: string; status: string; url: string; error: { code: string } | null }>> {
  const res = await request(base).get('/text_tasks').query({ limit: 1000 }).expect(200);
  return res.body.items;
}

describe('refused work stores nothing', () => {
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite();
  });
  afterAll(async () => {
    await site.close();
  });

  it('503 queue_full leaves no task, and the accepted ones all run', async () => {
    const held = holdingPage(site, '/held');
    const svc = await startTestService({ QUEUE_CAPACITY: '2', WORKER_CONCURRENCY: '1', RESPECT_ROBOTS_TXT: 'false' });
    try {
      const accepted: string[] = [];
      let refused = 0;
      for (let i = 0; i < 30; i++) {
        const res = await request(svc.url).post('/text_tasks').send({ url: site.url(`/held?i=${i}`) });
        if (res.status === 202) accepted.push(res.headers.location as string);
        else {
          expect(res.status).toBe(503);
          expect(res.headers['retry-after']).toBe('5');
          expect(res.body.detail).toContain('queue_full');
          refused++;
        }
      }
      // One running and two waiting: the rest were refused.
      expect(accepted).toHaveLength(3);
      expect(refused).toBe(27);
      const tasks = await allTasks(svc.url);
      expect(tasks).toHaveLength(3);
      expect(tasks.filter((t) => t.status === 'failed')).toEqual([]);
      held.release();
      for (const location of accepted) expect(await waitForTask(svc.url, location)).toMatchObject({ status: 'succeeded' });
    } finally {
      held.release();
      await svc.close();
    }
  });

  it('a POST that arrives during shutdown gets 503 shutting_down and leaves no task', async () => {
    const held = holdingPage(site, '/slow');
    const dataDir = tempDir();
    const svc: TestService = await startTestService({ WORKER_CONCURRENCY: '1', SHUTDOWN_GRACE_MS: '3000', RESPECT_ROBOTS_TXT: 'false' }, dataDir);
    const running = await request(svc.url).post('/text_tasks').send({ url: site.url('/slow') }).expect(202);
    while ((await request(svc.url).get(running.headers.location as string)).body.status !== 'running') await new Promise((r) => setTimeout(r, 10));

    // A request whose headers are in before shutdown begins and whose body is finished after it.
    const body = Buffer.from(JSON.stringify({ url: site.url('/late') }));
    const { port } = new URL(svc.url);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/text_tasks', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 5));
      setTimeout(() => {
        closing = svc.close();
        setTimeout(() => req.end(body.subarray(5)), 100);
      }, 100);
    });
    let closing: Promise<void> | undefined;
    const late = await answer;
    expect(late.status).toBe(503);
    expect(JSON.parse(late.body).detail).toContain('shutting_down');
    held.release();
    await closing;

    // The next start finds only the task it had accepted (resumed or finished), nothing failed for the refused one.
    const again = await startTestService({ RESPECT_ROBOTS_TXT: 'false' }, dataDir);
    try {
      const tasks = await allTasks(again.url);
      expect(tasks.map((t) => t.url)).toEqual([site.url('/slow')]);
      expect(tasks.filter((t) => t.status === 'failed')).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
