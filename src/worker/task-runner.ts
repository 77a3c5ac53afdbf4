/**
 * Runs one job to a final task state. Idempotent: a redelivered job for a final task is a no-op,
 * and a retried running task starts over (its image outcomes are rewritten, stored files reused).
 */
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { Task } from '../models/task.js';
import { telemetry } from '../ops/telemetry.js';
import type { Job, JobHandler } from '../queue/job-queue.js';
import { ScrapeError, toTaskError } from '../scrape/scrape-error.js';
import { runImagesTask, type ImagesTaskDeps } from './images-task.js';
import { RightsReservedError } from './rights-policy.js';
import { runTextTask, type TextTaskDeps } from './text-task.js';

/** The handler's way of saying "do not acknowledge this job": shutdown stopped it before its end. */
export class TaskInterruptedError extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} interrupted by shutdown`);
    this.name = 'TaskInterruptedError';
  }
}

export type TaskRunnerDeps = TextTaskDeps & ImagesTaskDeps & {
  store: TaskStore;
  log: Logger;
  taskTimeoutMs: number;
  /** Aborted when shutdown gives up waiting: running tasks stop and stay unfinished, to be resumed. */
  shutdown?: AbortSignal;
};

/** One signal per task for its deadline and for shutdown (AbortSignal.any would pin every task to the shutdown signal). */
function taskSignal(timeoutMs: number, shutdown?: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('task deadline exceeded')), timeoutMs);
  const onShutdown = () => controller.abort(new Error('shutting down'));
  shutdown?.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: controller.signal,
    release() {
      clearTimeout(timer);
      shutdown?.removeEventListener('abort', onShutdown);
    },
  };
}

export function createTaskRunner(deps: TaskRunnerDeps): JobHandler {
  return async (job: Job) => {
    const task = await deps.store.startTask(job.taskId);
    if (!task) return; // unknown or already final: the redelivery of a finished job
    const log = deps.log.child({ taskId: task.id, kind: task.kind, url: task.url });
    log.info({ attempt: task.attempts }, 'task started');
    telemetry.taskStarted(task.kind);
    const { signal, release } = taskSignal(deps.taskTimeoutMs, deps.shutdown);
    let result: Parameters<TaskStore['finishTask']>[1];
    try {
      const page = await runKind(task, deps, log, signal);
      result = signal.aborted
        ? { status: 'failed', page, error: toTaskError(new ScrapeError('timeout', `task deadline of ${deps.taskTimeoutMs} ms exceeded`)) }
        : { status: 'succeeded', page };
    } catch (err) {
      if (!(err instanceof ScrapeError)) log.error({ err }, 'task crashed');
      result = { status: 'failed', error: toTaskError(err) };
      // What was learned before the policy refused the content (the rights record) stays on the task.
      if (err instanceof RightsReservedError) result.page = err.page;
    } finally {
      release();
    }
    if (deps.shutdown?.aborted) {
      // Not acked: RabbitMQ redelivers it; the embedded queue's store resumes it at the next start.
      log.warn('task interrupted by shutdown; it stays unfinished and will run again');
      telemetry.taskInterrupted();
      throw new TaskInterruptedError(task.id);
    }
    const final = await deps.store.finishTask(task.id, result);
    telemetry.taskFinished({
      kind: task.kind, code: final?.status === 'failed' ? final.error?.code ?? 'unknown' : undefined, owner: task.owner, url: task.url,
      pageBytes: final?.page?.bytes, imagesStored: final?.counts ? final.counts.stored + final.counts.reused : undefined,
    });
    log.info({ status: final?.status, error: final?.error, counts: final?.counts }, 'task finished');
  };
}

function runKind(task: Task, deps: TaskRunnerDeps, log: Logger, signal: AbortSignal) {
  return task.kind === 'text' ? runTextTask(task, deps, signal) : runImagesTask(task, deps, log, signal);
}
