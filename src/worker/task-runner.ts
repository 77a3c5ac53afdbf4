/**
 * Runs one job to a final task state. Idempotent: a redelivered job for a final task is a no-op,
 * and a retried running task starts over (its image outcomes are rewritten, stored files reused).
 *
 * Attempts and leases (docs/decisions.md): a worker holds a running task under a lease it renews while
 * it runs, so a second delivery of the same task never runs it twice: a redelivery waits, and takes it over
 * once the lease runs out (its worker died); a first delivery leaves it to the holder, whose message covers
 * it. A job also runs its page-mates (Job.siblings), which have no message of their own, off the same fetch. A crash
 * (anything but a ScrapeError, which is the task's own outcome) gives the task back to the queue for a
 * retry; the last allowed attempt fails it with `attempts_exhausted` instead and dead-letters the job.
 */
import type { Logger } from '../logger.js';
import { ATTEMPTS_EXHAUSTED, attemptsExhaustedError } from '../models/task-lease-rules.js';
import type { TaskStore } from '../models/task-store.js';
import type { Task } from '../models/task.js';
import { telemetry } from '../ops/telemetry.js';
import { DeadLetterError, type Job, type JobHandler, type JobProgress } from '../queue/job-queue.js';
import { tasksOf } from '../queue/page-siblings.js';
import { ScrapeError, toTaskError } from '../scrape/scrape-error.js';
import { sleep } from '../util/sleep.js';
import { runImagesTask, type ImagesTaskDeps } from './images-task.js';
import { RightsReservedError } from './rights-policy.js';
import { runTextTask, type TextTaskDeps } from './text-task.js';
import type { WebhookEvents } from '../webhooks/events.js';
import type { CrawlStep } from './crawl-step.js';
import type { FetchedPage } from './page.js';

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
  /** This worker's name on the leases it holds, and how long one holds without renewal. */
  lease: { owner: string; ms: number };
  /** Runs of a task before it fails with attempts_exhausted (crashes and lost workers count). */
  maxAttempts: number;
  /** Aborted when shutdown gives up waiting: running tasks stop and stay unfinished, to be resumed. */
  shutdown?: AbortSignal;
  /** Webhook events of tasks and batches (recorded as deliveries; sent by the dispatcher). */
  events?: WebhookEvents;
  /** Grows crawls from their fetched pages; absent, crawl batches stay at their start page. */
  crawl?: CrawlStep;
};

export interface TaskRunner {
  handle: JobHandler;
  /** The queue gave up on a job (JobQueue's onDeadLetter): its task fails with attempts_exhausted. */
  onDeadLetter(job: Job, error: unknown): Promise<void>;
}

/** One signal per task for its deadline, shutdown and a lost lease (AbortSignal.any would pin every task to the shutdown signal). */
function taskSignal(timeoutMs: number, shutdown?: AbortSignal): { signal: AbortSignal; abort(reason: Error): void; release(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('task deadline exceeded')), timeoutMs);
  const onShutdown = () => controller.abort(new Error('shutting down'));
  shutdown?.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    release() {
      clearTimeout(timer);
      shutdown?.removeEventListener('abort', onShutdown);
    },
  };
}

/** Renews the lease every third of its length; calls `lost` once if another worker took the task over. */
function keepLease(deps: TaskRunnerDeps, taskId: string, lost: () => void, log: Logger): () => void {
  const timer = setInterval(() => {
    deps.store.renewLease(taskId, deps.lease).then(
      (held) => {
        if (!held) {
          clearInterval(timer);
          lost();
        }
      },
      // A store hiccup: the lease still holds for a while; the next renewal tries again.
      (err: unknown) => log.warn({ err }, 'could not renew the task lease'),
    );
  }, Math.max(50, Math.floor(deps.lease.ms / 3)));
  return () => clearInterval(timer);
}

export function createTaskRunner(deps: TaskRunnerDeps): TaskRunner {
  // A second delivery of a task this process is running holds our own lease: it must wait here, not run it again.
  const runningHere = new Map<string, Promise<void>>();

  /**
   * Starts the task under our lease; null when there is nothing to run here. While another live worker holds
   * it, a job that `waits` waits for its end or its lease's (a redelivery may be the holder's own message);
   * one that does not leaves the task to that worker, whose own message covers it.
   */
  async function acquire(taskId: string, replayed: boolean, waits: boolean, together?: Promise<Map<string, Task | null>>): Promise<Task | null> {
    const lease = { ...deps.lease, reopenExhausted: replayed };
    if (together) { // started with its page-mates (startTasks): what startTask answered
      const task = (await together).get(taskId);
      return task && task.lease?.owner === deps.lease.owner ? task : null;
    }
    for (;;) {
      const task = await deps.store.startTask(taskId, lease);
      if (!task || task.lease?.owner === deps.lease.owner) return task;
      if (!waits) return null;
      // A duplicate delivery, or the redelivery of a worker that just died: wait for its end or its lease's.
      const until = Date.parse(task.lease?.until ?? '') || 0;
      await sleep(Math.min(Math.max(until - Date.now(), 0) + 10, Math.max(100, deps.lease.ms / 4)), deps.shutdown);
      if (deps.shutdown?.aborted) throw new TaskInterruptedError(taskId);
    }
  }

  async function giveUp(task: Task, cause: string, attempts: number, last: Parameters<typeof attemptsExhaustedError>[1], log: Logger): Promise<never> {
    const error = attemptsExhaustedError(attempts, last);
    await deps.store.finishTask(task.id, { status: 'failed', error }, deps.lease.owner);
    log.error({ attempts, error }, `task gave up: ${cause}`);
    throw new DeadLetterError(error.message);
  }

  /**
   * The job's task and its page-mates (Job.siblings: a batch's page has one message, its lead's), run side by
   * side so they share one fetch (RecentPages). Resolves once every task it started is final: only then may its
   * message go. Tells the queue `workDone` once each of them has only its final write left, so the next page
   * can start meanwhile.
   */
  async function handle(job: Job, progress?: JobProgress): Promise<void> {
    // Only a fresh message leaves a task another live worker holds to that worker (whose message covers it, and
    // the broker redelivers that one if it dies). A redelivery may be the dead holder's own message, and a retry
    // may be the only one left for a task its earlier run could not give back: those wait for the holder.
    const waits = job.firstDelivery !== true || job.retried === true;
    const page = tasksOf(job).filter((id) => waits || !runningHere.has(id)); // a run here covers a fresh message's task
    // Fresh: the page's tasks started in one store call (on MongoDB one ticket insert and one update for all).
    const together = !waits && page.length > 1 ? deps.store.startTasks(page, { ...deps.lease, reopenExhausted: job.replayed === true }) : undefined;
    // Every run registered at once (runningHere), before the store answers: none is started here twice.
    const runs = page.map((id) => startRun(id, job, waits, together));
    void Promise.all(runs.map((r) => r.worked)).then(() => progress?.workDone());
    const outcomes = await Promise.allSettled(runs.map((r) => r.done));
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    // Not acked beats retried beats dead-lettered: a retry reruns the page-mates that crashed, final ones are no-ops.
    const pick = errors.find((e) => e instanceof TaskInterruptedError) ?? errors.find((e) => !(e instanceof DeadLetterError)) ?? errors[0];
    if (pick !== undefined) throw pick;
  }

  /** runHere, with `worked` resolving once only its final write is left (or it ended). */
  function startRun(taskId: string, job: Job, waits: boolean, together?: Promise<Map<string, Task | null>>): { worked: Promise<void>; done: Promise<void> } {
    let worked!: () => void;
    const workedP = new Promise<void>((resolve) => (worked = resolve));
    const done = runHere(taskId, job, waits, worked, together).finally(worked);
    return { worked: workedP, done };
  }

  /** One task of a job, after any run of it in this process (a job that waits takes it over, or finds it final). */
  async function runHere(taskId: string, job: Job, waits: boolean, worked: () => void, together?: Promise<Map<string, Task | null>>): Promise<void> {
    for (let other = runningHere.get(taskId); other; other = runningHere.get(taskId)) await other.catch(() => {});
    const run = attempt(taskId, job, waits, worked, together);
    runningHere.set(taskId, run);
    try {
      await run;
    } finally {
      if (runningHere.get(taskId) === run) runningHere.delete(taskId);
    }
  }

  async function attempt(taskId: string, job: Job, waits: boolean, worked: () => void, together?: Promise<Map<string, Task | null>>): Promise<void> {
    deps.log.debug({ step: 'acquire', taskId, of: job.taskId }, 'timeline');
    const task = await acquire(taskId, job.replayed === true, waits, together);
    deps.log.debug({ step: task ? 'acquired' : 'notacquired', taskId, of: job.taskId }, 'timeline');
    if (!task) return; // unknown, already final (a finished job's redelivery), or another live worker's
    const log = deps.log.child({ taskId: task.id, kind: task.kind, url: task.url });
    // Every earlier run was started and none finished: their workers died (or were cut off).
    if (task.attempts > deps.maxAttempts) return giveUp(task, 'its workers kept stopping', task.attempts - 1, task.error, log);
    log.info({ attempt: task.attempts }, 'task started');
    await notify(log, () => deps.events?.taskStarted(task));
    telemetry.taskStarted(task.kind);
    const { signal, abort, release } = taskSignal(deps.taskTimeoutMs, deps.shutdown);
    let leaseLost = false;
    const stopLease = keepLease(deps, task.id, () => {
      leaseLost = true;
      abort(new Error('lease lost'));
    }, log);
    let result: Parameters<TaskStore['finishTask']>[1] | undefined;
    let crash: unknown;
    try {
      let fetched: FetchedPage | undefined;
      const page = await runKind(task, deps, log, signal, (p) => {
        fetched = p;
        log.debug({ step: 'paged' }, 'timeline');
      });
      log.debug({ step: 'ran' }, 'timeline');
      // Before the task is final: a crawl whose last page is still expanding is not drained.
      if (fetched && task.batchId && !signal.aborted) await deps.crawl?.afterPage(task, fetched, signal);
      result = signal.aborted
        ? { status: 'failed', page, error: toTaskError(new ScrapeError('timeout', `task deadline of ${deps.taskTimeoutMs} ms exceeded`)) }
        : { status: 'succeeded', page };
    } catch (err) {
      if (err instanceof ScrapeError) {
        result = { status: 'failed', error: toTaskError(err) };
        // What was learned before the policy refused the content (the rights record) stays on the task.
        if (err instanceof RightsReservedError) result.page = err.page;
      } else crash = err;
    } finally {
      stopLease();
      release();
    }
    worked();
    if (deps.shutdown?.aborted) {
      // Not acked: RabbitMQ redelivers it; the embedded queue's store resumes it at the next start.
      log.warn('task interrupted by shutdown; it stays unfinished and will run again');
      telemetry.taskInterrupted();
      throw new TaskInterruptedError(task.id);
    }
    if (leaseLost) {
      // Another worker took the task over (we were cut off longer than the lease); it finishes it.
      log.warn('lost the task lease to another worker; leaving the task to it');
      return;
    }
    if (crash !== undefined) {
      const error = toTaskError(crash);
      log.error({ err: crash, attempt: task.attempts }, 'task crashed');
      if (task.attempts >= deps.maxAttempts) return giveUp(task, 'its last attempt crashed', task.attempts, error, log);
      // Queued again, with what went wrong, until the queue's retry comes: never left `running` by a failure.
      await deps.store.releaseTask(task.id, deps.lease.owner, error);
      throw crash;
    }
    log.debug({ step: 'finishing' }, 'timeline');
    const final = await deps.store.finishTask(task.id, result as NonNullable<typeof result>, deps.lease.owner);
    telemetry.taskFinished({
      kind: task.kind, code: final?.status === 'failed' ? final.error?.code ?? 'unknown' : undefined, owner: task.owner, url: task.url,
      pageBytes: final?.page?.bytes, imagesStored: final?.counts ? final.counts.stored + final.counts.reused : undefined,
    });
    log.info({ status: final?.status, error: final?.error, counts: final?.counts }, 'task finished');
    if (final) await notify(log, () => deps.events?.taskFinished(final));
  }

  async function onDeadLetter(job: Job, error: unknown): Promise<void> {
    if (error instanceof DeadLetterError) return; // handle() failed the task already
    await giveUpOn(job.taskId, error, () => true);
    // The job's message was its page-mates' only one: those still queued (never started, or given back after a
    // crash) or left held by this worker give up with it; one another worker holds is left to that worker's message.
    const ours = (task: Task) => task.status === 'queued' || task.lease?.owner === deps.lease.owner;
    for (const id of job.siblings ?? []) await giveUpOn(id, error, ours);
  }

  async function giveUpOn(taskId: string, error: unknown, applies: (task: Task) => boolean): Promise<void> {
    const task = await deps.store.getTask(taskId);
    if (!task || task.status === 'succeeded' || task.status === 'failed' || !applies(task)) return;
    const exhausted = attemptsExhaustedError(task.attempts, toTaskError(error));
    await deps.store.finishTask(task.id, { status: 'failed', error: exhausted });
    deps.log.error({ taskId: task.id, error: exhausted }, `task gave up: the queue dead-lettered it (${ATTEMPTS_EXHAUSTED})`);
  }

  return { handle, onDeadLetter };
}

/** A webhook event that cannot be recorded is logged, never a reason to fail or redo the task. */
async function notify(log: Logger, record: () => Promise<void> | undefined): Promise<void> {
  try {
    await record();
  } catch (err) {
    log.error({ err }, 'webhook event not recorded');
  }
}

function runKind(task: Task, deps: TaskRunnerDeps, log: Logger, signal: AbortSignal, onPage: (page: FetchedPage) => void) {
  return task.kind === 'text' ? runTextTask(task, deps, signal, onPage) : runImagesTask(task, deps, log, signal, onPage);
}
