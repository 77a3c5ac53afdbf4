/** A task's own webhook events: its endpoint is looked up only when the store cannot say the task has none. */
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

async function taskWithHook(): Promise<Task> {
  const task = await store.createTask({ kind: 'text', url: 'https://example.com/', refresh: false, hasWebhook: true });
  await store.webhooks.setEndpoint({ ownerId: task.id, owner: 'task', url: 'https://hooks.example.com/x', secret: 'whsec_c2VjcmV0', events: [], createdAt: new Date().toISOString() });
  return task;
}

async function runThrough(events: WebhookEvents, task: Task, override: Partial<Task> = {}): Promise<void> {
  await events.taskStarted({ ...(await store.startTask(task.id))!, ...override });
  await events.taskFinished({ ...(await store.finishTask(task.id, { status: 'succeeded' }))!, ...override });
}

const eventsOf = async (ownerId: string) => (await store.webhooks.listDeliveries(ownerId, { limit: 10 })).items.map((d) => d.event);

it('skips the endpoint lookup for a task the store says has none', async () => {
  const events = new WebhookEvents(store);
  const getEndpoint = jest.spyOn(store.webhooks, 'getEndpoint');
  const plain = await store.createTask({ kind: 'images', url: 'https://example.com/', refresh: false });
  await runThrough(events, plain, { hasWebhook: false });
  expect(getEndpoint).not.toHaveBeenCalled();
});

it('looks the endpoint up when the store does not say (a task made before it kept the flag), and sends its events', async () => {
  const events = new WebhookEvents(store);
  const getEndpoint = jest.spyOn(store.webhooks, 'getEndpoint');
  const hooked = await taskWithHook();
  await runThrough(events, hooked, { hasWebhook: undefined });
  expect(getEndpoint.mock.calls.map(([id]) => id)).toEqual([hooked.id]);
  expect(await eventsOf(hooked.id)).toEqual(expect.arrayContaining(['task.started', 'task.completed']));
});

it('sends the events of a task that says it has an endpoint', async () => {
  const events = new WebhookEvents(store);
  const hooked = await taskWithHook();
  await runThrough(events, hooked, { hasWebhook: true });
  expect(await eventsOf(hooked.id)).toEqual(expect.arrayContaining(['task.started', 'task.completed']));
});
