/** Batch webhook events per task finish: O(1) store reads each (the batch's progress is read once, at the end), and still right. */
import path from 'node:path';
import { jest } from '@jest/globals';
import { openSqliteTaskStore, type SqliteTaskStore } from '../../../src/models/sqlite/sqlite-task-store.js';
import type { Task } from '../../../src/models/task.js';
import { WebhookEvents } from '../../../src/webhooks/events.js';
import { tempDir } from '../../helpers/temp.js';

let store: SqliteTaskStore;
beforeEach(() => {
  store = openSqliteTaskStore(path.join(tempDir(), 'tasks.sqlite'));
});
afterEach(async () => {
  await store.close();
});

async function batchWithHook(n: number): Promise<{ batchId: string; taskIds: string[] }> {
  const urls = Array.from({ length: n }, (_, i) => `https://example.com/p/${i}`);
  const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls });
  await store.webhooks.setEndpoint({ ownerId: batch.id, owner: 'batch', url: 'https://hooks.example.com/x', secret: 'whsec_c2VjcmV0', events: [], createdAt: new Date().toISOString() });
  return { batchId: batch.id, taskIds: jobs.map((j) => j.taskId) };
}

async function run(events: WebhookEvents, id: string, status: 'succeeded' | 'failed'): Promise<Task> {
  const started = (await store.startTask(id)) as Task;
  await events.taskStarted(started);
  return (await store.finishTask(id, status === 'failed' ? { status, error: { code: 'http_error', message: 'HTTP 500' } } : { status })) as Task;
}

async function deliveries(batchId: string) {
  const page = await store.webhooks.listDeliveries(batchId, { limit: 1000 });
  return page.items.map((d) => ({ event: d.event, data: (JSON.parse(d.payload) as { data: Record<string, unknown> }).data }));
}

const countsOf = (ds: Awaited<ReturnType<typeof deliveries>>, event: string) => ds.filter((d) => d.event === event);

it('reads the batch progress once for a whole batch finishing task by task, and sends every event once', async () => {
  const n = 120;
  const { batchId, taskIds } = await batchWithHook(n);
  const events = new WebhookEvents(store);
  const getBatch = jest.spyOn(store.batches, 'getBatch');
  const listTasks = jest.spyOn(store.batches, 'listBatchTasks');
  for (const [i, id] of taskIds.entries()) await events.taskFinished(await run(events, id, i % 40 === 7 ? 'failed' : 'succeeded'));

  // Each finish probes for an unfinished task (at most 2 one-task reads); the batch itself is read once to learn
  // whether it is a crawl (cached), and its progress once, at the last finish: not once per task.
  expect(getBatch.mock.calls.length).toBeLessThanOrEqual(2);
  expect(listTasks.mock.calls.length).toBeLessThanOrEqual(2 * n);
  expect(listTasks.mock.calls.every(([, q]) => q.limit === 1)).toBe(true);

  const ds = await deliveries(batchId);
  expect(countsOf(ds, 'batch.started')).toHaveLength(1);
  expect(countsOf(ds, 'batch.task_finished')).toHaveLength(n);
  expect(new Set(countsOf(ds, 'batch.task_finished').map((d) => (d.data.task as { id: string }).id))).toEqual(new Set(taskIds));
  const done = countsOf(ds, 'batch.completed');
  expect(done).toHaveLength(1);
  expect(done[0]?.data).toMatchObject({ id: batchId, status: 'completed', counts: { queued: 0, running: 0, succeeded: n - 3, failed: 3, finished: n } });
  expect(countsOf(ds, 'batch.failed')).toHaveLength(0);
});

it('sends batch.failed once when nothing succeeded, and one completion when the last two tasks finish at once', async () => {
  const { batchId, taskIds } = await batchWithHook(4);
  const events = new WebhookEvents(store);
  for (const id of taskIds.slice(0, 2)) await events.taskFinished(await run(events, id, 'failed'));
  expect(countsOf(await deliveries(batchId), 'batch.failed')).toHaveLength(0);
  // Both last tasks are final in the store before either worker's event runs: both see the batch done, one delivery results.
  const last = await Promise.all(taskIds.slice(2).map((id) => run(events, id, 'failed')));
  await Promise.all(last.map((t) => events.taskFinished(t)));
  const ds = await deliveries(batchId);
  expect(countsOf(ds, 'batch.failed')).toHaveLength(1);
  expect(countsOf(ds, 'batch.failed')[0]?.data).toMatchObject({ counts: { succeeded: 0, failed: 4, finished: 4 } });
  expect(countsOf(ds, 'batch.completed')).toHaveLength(0);
});

it('waits for a running task after a cancel, then sends the completion of the cancelled batch', async () => {
  const { batchId, taskIds } = await batchWithHook(3);
  const events = new WebhookEvents(store);
  const running = (await store.startTask(taskIds[0] as string)) as Task;
  await events.taskStarted(running);
  await store.batches.cancelBatch(batchId);
  await events.batchMayHaveFinished(batchId);
  expect(countsOf(await deliveries(batchId), 'batch.completed')).toHaveLength(0);
  await events.taskFinished((await store.finishTask(running.id, { status: 'succeeded' })) as Task);
  const done = countsOf(await deliveries(batchId), 'batch.completed');
  expect(done).toHaveLength(1);
  expect(done[0]?.data).toMatchObject({ status: 'cancelled', counts: { succeeded: 1, failed: 2 } });
});

it('asks the store for a batch endpoint once per process, not per task, and never for a batch task\'s own', async () => {
  const { batchId, taskIds } = await batchWithHook(10);
  const events = new WebhookEvents(store);
  const getEndpoint = jest.spyOn(store.webhooks, 'getEndpoint');
  const enqueue = jest.spyOn(store.webhooks, 'enqueue');
  for (const id of taskIds) await events.taskFinished(await run(events, id, 'succeeded'));
  // The batch's once in all; a batch's task has no endpoint of its own (webhooks are given per batch). batch.started is recorded once.
  expect(getEndpoint.mock.calls.map(([ownerId]) => ownerId)).toEqual([batchId]);
  expect(enqueue.mock.calls.filter(([d]) => d.event === 'batch.started')).toHaveLength(1);
});
