/** The routes every task kind shares: create, list, get. */
import { Router, type Request, type RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { InvalidCursorError, type TaskStore } from '../models/task-store.js';
import type { NewTask, Task, TaskHead, TaskKind, TaskStatus, TextFormat } from '../models/task.js';
import { QueueClosedError, QueueFullError, type JobQueue, type Reservation } from '../queue/job-queue.js';
import { allowOnly } from './allow-only.js';
import { jsonBody } from './json-body.js';
import { callerOf, canSee, ownerFilter, type Caller } from './auth.js';
import { invalid, notFound, ProblemError } from './problem.js';
import { FinishedTaskBodies } from './finished-task-bodies.js';
import { collectionPath, presentTask } from './presenters.js';
import { createImagesTaskBody, createTextTaskBody, imagesOptionsOf, listQuery, parse } from './validation.js';
import type { AddressPolicy } from '../scrape/address-guard.js';
import type { WebhookEndpoint } from '../models/webhook.js';
import { checkWebhookTarget, presentEndpoint, toEndpoint, webhookSpec, type WebhookInput } from './webhook-input.js';

export interface TasksDeps {
  store: TaskStore;
  queue: JobQueue;
  log: Logger;
  addressPolicy: AddressPolicy;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The task itself if it is of the route's kind and the caller may see it, else a 404 problem (another key's task is not found). */
function visible<T extends TaskHead>(task: T | null, kind: TaskKind, id: string, caller: Caller): T {
  if (!task || task.kind !== kind || !canSee(caller, task.owner)) throw notFound(`no ${kind} task with id ${id}`);
  return task;
}

/** Loads a task of the route's kind that the caller may see, or throws a 404 problem. */
export async function loadTask(store: TaskStore, kind: TaskKind, id: string, caller: Caller): Promise<Task> {
  return visible(ID.test(id) ? await store.getTask(id) : null, kind, id, caller);
}

export function rethrowCursor(err: unknown): never {
  if (err instanceof InvalidCursorError) throw invalid([{ field: 'cursor', message: 'is not a cursor this API gave out' }]);
  throw err;
}

const textBody = createTextTaskBody.extend({ webhook: webhookSpec.optional() });
const imagesBody = createImagesTaskBody.extend({ webhook: webhookSpec.optional() });
const hook = (w: unknown) => (w ? { webhook: w as WebhookInput } : {});

/** The request body → the task to create (and its webhook); each kind takes its own fields. */
function newTask(kind: TaskKind, input: unknown): NewTask & { webhook?: WebhookInput } {
  if (kind === 'text') {
    const body = parse(textBody, input, 'body');
    return { kind, url: body.url, refresh: body.refresh, format: body.format as TextFormat, ...hook(body.webhook) };
  }
  const body = parse(imagesBody, input, 'body');
  const options = imagesOptionsOf(body);
  return { kind, url: body.url, refresh: body.refresh, ...(options ? { options } : {}), ...hook(body.webhook) };
}

const unavailable = (code: string) =>
  new ProblemError(503, 'Service Unavailable', `the task queue cannot take the task now (${code})`, undefined, { 'retry-after': '5' });

/** A place in the queue, or the 503 that refuses the work before anything is stored. */
export function reservePlace(queue: JobQueue): Reservation {
  try {
    return queue.reserve();
  } catch (err) {
    if (err instanceof QueueFullError) throw unavailable('queue_full');
    if (err instanceof QueueClosedError) throw unavailable('shutting_down');
    throw err;
  }
}

/**
 * GET of one task, for the app to route itself (createApp mounts it before the task routers): the commonest
 * request, and a mounted router costs it a second dispatch (URL parse, prefix trim, its own walk of layers).
 */
export function taskReadRoute(kind: TaskKind, store: TaskStore): RequestHandler {
  const bodies = new FinishedTaskBodies(presentTask);
  return async (req, res) => {
    const id = req.params.id as string;
    const caller = callerOf(res);
    // A finished task polled again is answered from its cached body once its head (owner, kind, version) is
    // read and checked; anything else is read in full.
    if (store.getTaskHead && ID.test(id)) {
      const head = visible(await store.getTaskHead(id), kind, id, caller);
      if (bodies.sendCached(req, res, head)) return;
    }
    bodies.send(req, res, await loadTask(store, kind, id, caller));
  };
}

export function tasksRouter(kind: TaskKind, deps: TasksDeps): Router {
  const router = Router();
  const base = collectionPath(kind);

  // GET /:id is the app's own route (taskReadRoute), in front of this router; other methods end here.
  router.all('/:id', allowOnly('GET'));

  router.post('/', jsonBody, async (req: Request, res) => {
    if (!req.is('application/json')) {
      throw new ProblemError(415, 'Unsupported Media Type', 'send the task as application/json', [{ field: 'body', message: 'must be application/json' }]);
    }
    const { webhook, ...input } = newTask(kind, req.body);
    if (webhook) await checkWebhookTarget(webhook.url, deps.addressPolicy, 'webhook.url');
    // Refused before anything is stored: a client told "no" must not find a failed task of it later.
    const place = reservePlace(deps.queue);
    let endpoint: WebhookEndpoint | undefined;
    const task = await deps.store.createTask({ ...input, owner: callerOf(res).keyId, hasWebhook: webhook !== undefined }).then(async (created) => {
      // Before dispatch, so the task's events find their endpoint.
      endpoint = webhook && toEndpoint(webhook, 'task', created.id);
      if (endpoint) await deps.store.webhooks.setEndpoint(endpoint);
      return created;
    }).catch((err: unknown) => {
      place.release();
      throw err;
    });
    try {
      await place.dispatch({ taskId: task.id, kind });
    } catch (err) {
      // Only a broker that fails after the task was stored gets here (RabbitMQ down past the dispatch
      // timeout): the task exists but will never run, so it is closed as failed rather than left waiting.
      await deps.store.finishTask(task.id, { status: 'failed', error: { code: 'queue_unavailable', message: 'the task queue could not take the task' } });
      deps.log.warn({ err, taskId: task.id }, 'dispatch failed');
      throw unavailable('queue_unavailable');
    }
    res.status(202).location(`${base}/${task.id}`).json({ ...presentTask(task), ...(endpoint ? { webhook: presentEndpoint(endpoint) } : {}) });
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    const page = await deps.store
      .listTasks({ kind, status: q.status as TaskStatus | undefined, limit: q.limit, cursor: q.cursor, owner: ownerFilter(callerOf(res)) })
      .catch(rethrowCursor);
    if (page.nextCursor) {
      const next = new URLSearchParams({ ...(q.status ? { status: q.status } : {}), limit: String(q.limit), cursor: page.nextCursor });
      res.links({ next: `${base}?${next}` });
    }
    res.json({ items: page.items.map(presentTask), next_cursor: page.nextCursor ?? null });
  });

  router.all('/', allowOnly('GET', 'POST'));

  return router;
}
