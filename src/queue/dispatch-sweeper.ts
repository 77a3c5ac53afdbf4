/**
 * The outbox half of dispatch, for the RabbitMQ queue. A task is inserted with `dispatchPendingSince`
 * set; once the broker confirms its message, withDispatchReceipts clears it. If the API dies in between
 * (or the broker refused and the task could not even be failed), the sweeper finds the task still
 * pending after `olderThanMs` and dispatches it. Every API and worker process runs a sweeper: the store
 * hands each task to one of them (TaskStore.takeUndispatched is a compare-and-set), and a sweeper that
 * dies before its dispatch is confirmed leaves the task to be taken again one period later.
 * The embedded queue needs neither: it lives and dies with its API, and a restart resumes every
 * unfinished task from the store.
 */
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { ConsumeOptions, Job, JobHandler, JobQueue, Reservation } from './job-queue.js';

/** A queue whose confirmed dispatches are recorded on their tasks, so the sweeper leaves them alone. */
export function withDispatchReceipts(queue: JobQueue, store: TaskStore, log: Logger): JobQueue {
  // The message is safe in the broker; failing to record that only risks one duplicate (runs are idempotent).
  const receipt = (job: Job) => store.markDispatched(job.taskId).catch((err: unknown) => log.warn({ err, taskId: job.taskId }, 'could not record a dispatch'));
  return {
    async dispatch(job: Job): Promise<void> {
      await queue.dispatch(job);
      await receipt(job);
    },
    reserve(): Reservation {
      const place = queue.reserve();
      return {
        async dispatch(job: Job): Promise<void> {
          await place.dispatch(job);
          await receipt(job);
        },
        release: () => place.release(),
      };
    },
    consume: (handler: JobHandler, options: ConsumeOptions) => queue.consume(handler, options),
    close: () => queue.close(),
  };
}

export interface DispatchSweeperOptions {
  store: TaskStore;
  /** Already wrapped by withDispatchReceipts. */
  queue: JobQueue;
  log: Logger;
  /** A queued task whose dispatch is unconfirmed for this long is dispatched; the sweep runs twice per period. */
  olderThanMs: number;
  /** Tasks per store query. */
  batch?: number;
}

export interface DispatchSweeper {
  /** One pass (tests call it directly); resolves to the number of tasks dispatched. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export function startDispatchSweeper(options: DispatchSweeperOptions): DispatchSweeper {
  const { store, queue, log, olderThanMs } = options;
  const batch = options.batch ?? 100;
  let current: Promise<number> | undefined;
  let stopped = false;

  async function pass(): Promise<number> {
    let sent = 0;
    for (;;) {
      const tasks = await store.takeUndispatched({ olderThanMs, limit: batch });
      for (const task of tasks) {
        if (stopped) return sent;
        try {
          await queue.dispatch({ taskId: task.id, kind: task.kind });
          sent++;
          log.warn({ taskId: task.id, pendingSince: task.createdAt }, 'dispatched a task whose first dispatch was never confirmed');
        } catch (err) {
          // Left pending: the next sweep after olderThanMs tries again.
          log.error({ err, taskId: task.id }, 'sweeper could not dispatch a task');
        }
      }
      if (tasks.length < batch || stopped) return sent;
    }
  }

  const sweep = (): Promise<number> => {
    current ??= pass().finally(() => {
      current = undefined;
    });
    return current;
  };

  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log.warn({ err }, 'dispatch sweep failed'));
  }, Math.max(100, Math.floor(olderThanMs / 2)));
  timer.unref();

  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current?.catch(() => 0);
    },
  };
}
