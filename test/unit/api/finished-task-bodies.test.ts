import express from 'express';
import request from 'supertest';
import { FinishedTaskBodies } from '../../../src/api/finished-task-bodies.js';
import { presentTask } from '../../../src/api/presenters.js';
import type { Task } from '../../../src/models/task.js';

const task = (over: Partial<Task> = {}): Task => ({
  id: 't1', kind: 'text', url: 'https://example.com/', status: 'succeeded', refresh: false, attempts: 1,
  createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:01.000Z',
  page: { finalUrl: 'https://example.com/', httpStatus: 200, bytes: 10, title: 'Example' },
  ...over,
});

/** `/cached` answers through FinishedTaskBodies, `/plain` with res.json, both from the same current task. */
function app() {
  const state = { task: task() };
  const bodies = new FinishedTaskBodies(presentTask);
  const a = express();
  a.get('/cached', (req, res) => bodies.send(req, res, state.task));
  a.get('/plain', (_req, res) => void res.json(presentTask(state.task)));
  // From the cache by the task's head alone, or 204 when the cache does not hold this version.
  a.get('/by-head', (req, res) => {
    const { id, kind, status, attempts, updatedAt, owner } = state.task;
    if (!bodies.sendCached(req, res, { id, kind, status, attempts, updatedAt, owner })) res.status(204).end();
  });
  return { a, state };
}

describe('FinishedTaskBodies', () => {
  it('answers exactly as res.json does: body, Content-Type, Content-Length and ETag, also when served again', async () => {
    const { a } = app();
    const plain = await request(a).get('/plain').expect(200);
    for (let i = 0; i < 2; i++) {
      const cached = await request(a).get('/cached').expect(200);
      expect(cached.text).toBe(plain.text);
      for (const h of ['content-type', 'content-length', 'etag']) expect(cached.headers[h]).toBe(plain.headers[h]);
    }
  });

  it('sends the same status and headers as res.json for GET, HEAD and a fresh If-None-Match, cached or not', async () => {
    const { a } = app();
    const stable = (r: request.Response) => ({ status: r.status, headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => k !== 'date')) });
    const etag = (await request(a).get('/plain')).headers.etag as string;
    for (let i = 0; i < 2; i++) {
      expect(stable(await request(a).get('/cached'))).toEqual(stable(await request(a).get('/plain')));
      expect(stable(await request(a).head('/cached'))).toEqual(stable(await request(a).head('/plain')));
      const fresh = (path: string) => request(a).get(path).set('If-None-Match', etag);
      expect(stable(await fresh('/cached'))).toEqual(stable(await fresh('/plain')));
    }
  });

  it('answers 304 to a client that has the current body, and HEAD without a body', async () => {
    const { a } = app();
    const first = await request(a).get('/cached').expect(200);
    await request(a).get('/cached').set('If-None-Match', first.headers.etag as string).expect(304);
    const head = await request(a).head('/cached').expect(200);
    expect(head.headers.etag).toBe(first.headers.etag);
  });

  it('serves the new body once the task was written again (retried and finished anew), never the old one', async () => {
    const { a, state } = app();
    await request(a).get('/cached').expect(200);
    state.task = task({ status: 'queued', attempts: 1, updatedAt: '2026-01-01T00:00:02.000Z', finishedAt: undefined });
    expect((await request(a).get('/cached').expect(200)).body).toMatchObject({ status: 'queued' });
    // Finished again within the same millisecond as before: the attempt count still tells the versions apart.
    state.task = task({ status: 'failed', attempts: 2, error: { code: 'timeout', message: 'took too long' } });
    const again = await request(a).get('/cached').expect(200);
    expect(again.body).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'timeout' } });
    expect(again.text).toBe((await request(a).get('/plain')).text);
  });

  it('does not keep an unfinished task, whose image counts change without a new version', async () => {
    const { a, state } = app();
    state.task = task({ kind: 'images', status: 'running', counts: { found: 1, stored: 0, reused: 0, failed: 0, skipped: 0 } });
    await request(a).get('/cached').expect(200);
    state.task = { ...state.task, counts: { found: 2, stored: 1, reused: 0, failed: 0, skipped: 0 } };
    expect((await request(a).get('/cached').expect(200)).body.counts).toMatchObject({ found: 2, stored: 1 });
  });

  it('answers from a head only the version it cached: nothing before, nothing stale, nothing unfinished', async () => {
    const { a, state } = app();
    await request(a).get('/by-head').expect(204);
    const full = await request(a).get('/cached').expect(200);
    const hit = await request(a).get('/by-head').expect(200);
    expect(hit.text).toBe(full.text);
    expect(hit.headers.etag).toBe(full.headers.etag);
    state.task = task({ status: 'failed', attempts: 2, error: { code: 'timeout', message: 'took too long' } });
    await request(a).get('/by-head').expect(204);
    state.task = task({ status: 'running', attempts: 3, updatedAt: '2026-01-01T00:00:03.000Z', finishedAt: undefined });
    await request(a).get('/cached').expect(200);
    await request(a).get('/by-head').expect(204);
  });
});
