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
});
