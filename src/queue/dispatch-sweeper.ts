/**
 * The outbox half of dispatch, for the RabbitMQ queue. A task is inserted with `dispatchPendingSince`
 * set; once the broker confirms its message (for a page-mate, its page's message), withDispatchReceipts
 * clears it. If the API dies in between
 * (or the broker refused and the task could not even be failed), the sweeper finds the task still
 * pending after `olderThanMs` and dispatches it, each task in a message of its own (a page whose message never
 * went out has every task pending, so each runs). Every API and worker process runs a sweeper: the store
 * hands each task to one of them (TaskStore.takeUndispatched is a compare-and-set), and a sweeper that
 * dies before its dispatch is confirmed leaves the task to be taken again one period later.
 * The embedded queue needs neither: it lives and dies with its API, and a restart resumes every
 * unfinished task from the store.
 */
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { ConsumeOptions, Job, JobHandler, JobQueue, Reservation } from './job-queue.js';
import { tasksOf } from './page-siblings.js';

/** Receipts are written this long after the broker's confirm, together: by then a worker has often started the task (which cleared it). */
export const RECEIPT_DELAY_MS = 100;

/**
 * Dispatch receipts written in the background, many per store call. Nothing waits for them: the message is
 * safe in the broker, and a receipt lost (the process died first) only lets the sweeper send the task once
 * more after its period, which runs handle (at-least-once; a started or final task is not swept).
 */
function receiptWriter(store: TaskStore, log: Logger): { add(taskId: string): void; flush(): Promise<void> } {
  const pending: string[] = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    await new Promise((resolve) => setTimeout(resolve, RECEIPT_DELAY_MS));
    while (pending.length > 0) {
      const ids = pending.splice(0, 512);
      await store.markDispatched(ids).catch((err: unknown) => log.warn({ err, tasks: ids.length }, 'could not record dispatches'));
    }
    draining = undefined;
  };
  return {
    add(taskId) {
      pending.push(taskId);
      draining ??= drain();
    },
    flush: async () => {
      await draining;
    },
  };
}

/** A queue whose confirmed dispatches are recorded on their tasks, so the sweeper leaves them alone. */
export function withDispatchReceipts(queue: JobQueue, store: TaskStore, log: Logger): JobQueue {
  const receipts = receiptWriter(store, log);
  // A page's message covers its page-mates too (Job.siblings): they have none of their own.
  const receipt = (job: Job) => {
    for (const taskId of tasksOf(job)) receipts.add(taskId);
  };
  return {
    async dispatch(job: Job): Promise<void> {
      await queue.dispatch(job);
      receipt(job);
    },
    reserve(): Reservation {
      const place = queue.reserve();
      return {
        async dispatch(job: Job): Promise<void> {
          await place.dispatch(job);
          receipt(job);
        },
        release: () => place.release(),
      };
    },
    consume: (handler: JobHandler, options: ConsumeOptions) => queue.consume(handler, options),
    async close() {
      await receipts.flush();
      await queue.close();
    },
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
