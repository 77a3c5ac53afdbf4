import type { Router } from 'express';
import { allowOnly } from './allow-only.js';
import { ProblemError } from './problem.js';
import { callerOf } from './auth.js';
import { loadTask, tasksRouter, type TasksDeps } from './tasks-router.js';

export function textTasksRouter(deps: TasksDeps): Router {
  const router = tasksRouter('text', deps);
  router.get('/:id/text', async (req, res) => {
    const task = await loadTask(deps.store, 'text', req.params.id as string, callerOf(res));
    if (task.status !== 'succeeded') {
      throw new ProblemError(409, 'Text Not Available', `the task is ${task.status}; its text is available once it has succeeded`);
    }
    const text = (await deps.store.getText(task.id)) ?? '';
    res.type(task.format === 'markdown' ? 'text/markdown; charset=utf-8' : 'text/plain; charset=utf-8').send(text);
  });
  router.all('/:id/text', allowOnly('GET'));
  return router;
}
