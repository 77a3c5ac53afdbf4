/** The routes every task kind shares: create, list, get. */
import { Router, type Request } from 'express';
import type { Logger } from '../logger.js';
import { InvalidCursorError, type TaskStore } from '../models/task-store.js';
import type { Task, TaskKind, TaskStatus, TextFormat } from '../models/task.js';
import { QueueFullError, type JobQueue } from '../queue/job-queue.js';
import { invalid, notFound, ProblemError } from './problem.js';
import { collectionPath, presentTask } from './presenters.js';
import { createBodyFor, listQuery, parse } from './validation.js';

export interface TasksDeps {
  store: TaskStore;
  queue: JobQueue;
  log: Logger;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Loads a task of the route's kind or throws a 404 problem. */
export async function loadTask(store: TaskStore, kind: TaskKind, id: string): Promise<Task> {
  const task = ID.test(id) ? await store.getTask(id) : null;
  if (!task || task.kind !== kind) throw notFound(`no ${kind} task with id ${id}`);
  return task;
}

export function rethrowCursor(err: unknown): never {
  if (err instanceof InvalidCursorError) throw invalid([{ field: 'cursor', message: 'is not a cursor this API gave out' }]);
  throw err;
}

export function tasksRouter(kind: TaskKind, deps: TasksDeps): Router {
  const router = Router();
  const base = collectionPath(kind);

  router.post('/', async (req: Request, res) => {
    if (!req.is('application/json')) {
      throw new ProblemError(415, 'Unsupported Media Type', 'send the task as application/json', [{ field: 'body', message: 'must be application/json' }]);
    }
    const body: { url: string; refresh: boolean; format?: string } = parse(createBodyFor(kind), req.body, 'body');
    const task = await deps.store.createTask({ kind, url: body.url, refresh: body.refresh, ...(body.format ? { format: body.format as TextFormat } : {}) });
    try {
      await deps.queue.dispatch({ taskId: task.id, kind });
    } catch (err) {
      // The task exists but will never run: close it as failed so nothing waits on it forever.
      const code = err instanceof QueueFullError ? 'queue_full' : 'queue_unavailable';
      await deps.store.finishTask(task.id, { status: 'failed', error: { code, message: String((err as Error).message) } });
      deps.log.warn({ err, taskId: task.id }, 'dispatch failed');
      throw new ProblemError(503, 'Service Unavailable', `the task queue cannot take the task now (${code})`, undefined, { 'retry-after': '5' });
    }
    res.status(202).location(`${base}/${task.id}`).json(presentTask(task));
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    const page = await deps.store
      .listTasks({ kind, status: q.status as TaskStatus | undefined, limit: q.limit, cursor: q.cursor })
      .catch(rethrowCursor);
    if (page.nextCursor) {
      const next = new URLSearchParams({ ...(q.status ? { status: q.status } : {}), limit: String(q.limit), cursor: page.nextCursor });
      res.links({ next: `${base}?${next}` });
    }
    res.json({ items: page.items.map(presentTask), next_cursor: page.nextCursor ?? null });
  });

  router.get('/:id', async (req, res) => {
    res.json(presentTask(await loadTask(deps.store, kind, req.params.id as string)));
  });

  return router;
}
