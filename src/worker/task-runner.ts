/**
 * Runs one job to a final task state. Idempotent: a redelivered job for a final task is a no-op,
 * and a retried running task starts over (its image outcomes are rewritten, stored files reused).
 *
 * Attempts and leases (docs/decisions.md): a worker holds a running task under a lease it renews while
 * it runs, so a second delivery of the same task never runs it twice: a redelivery waits, and takes it over
 * once the lease runs out (its worker died); a first delivery leaves it to the holder, whose message covers
 * it. A job also runs its page-mates (Job.siblings) that are still queued, off the same fetch. A crash
 * (anything but a ScrapeError, which is the task's own outcome) gives the task back to the queue for a
 * retry; the last allowed attempt fails it with `attempts_exhausted` instead and dead-letters the job.
 */
import type { Logger } from '../logger.js';
import { ATTEMPTS_EXHAUSTED, attemptsExhaustedError, decideStart } from '../models/task-lease-rules.js';
import type { TaskStore } from '../models/task-store.js';
import type { Task } from '../models/task.js';
import { telemetry } from '../ops/telemetry.js';
import { DeadLetterError, type Job, type JobHandler, type JobProgress } from '../queue/job-queue.js';
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
  /** JobQueue's coveredElsewhere: a fresh job whose tasks handle would all find final or held by another live worker. */
  coveredElsewhere(job: Job): Promise<boolean>;
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

/** How many of the tasks this process finished it remembers as succeeded (a page-mate's message comes soon after). */
const REMEMBER_SUCCEEDED = 4096;

export function createTaskRunner(deps: TaskRunnerDeps): TaskRunner {
  // A second delivery of a task this process is running holds our own lease: it must wait here, not run it again.
  const runningHere = new Map<string, Promise<void>>();
  // Tasks this process finished as succeeded, which nothing reopens (a batch retry reopens failed ones, a replay
  // exhausted ones): the page-mate messages of pages run here find them final without asking the store.
  const succeededHere = new Set<string>();
  const rememberSucceeded = (taskId: string) => {
    succeededHere.add(taskId);
    if (succeededHere.size > REMEMBER_SUCCEEDED) succeededHere.delete(succeededHere.values().next().value as string);
  };

  /**
   * Starts the task under our lease; null when there is nothing to run here. While another live worker holds
   * it, a job that `waits` waits for its end or its lease's (a redelivery may be the holder's own message);
   * one that does not leaves the task to that worker, whose own message covers it.
   */
  async function acquire(taskId: string, replayed: boolean, waits: boolean, together?: Promise<Map<string, Task | null>>): Promise<Task | null> {
    const lease = { ...deps.lease, reopenExhausted: replayed };
    if (together) { // started with its page-mates (startTogether): what startTask answered, or left out
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
   * The job's task, and its page-mates still queued (Job.siblings), run side by side so they share one fetch
   * (RecentPages). Resolves once every task it started is final: only then may its message go. Tells the
   * queue `workDone` once each of them has only its final write left, so the next page can start meanwhile.
   */
  async function handle(job: Job, progress?: JobProgress): Promise<void> {
    // Every job of a page starts the page's tasks in one order (ids sorted): of two workers that take jobs of
    // one page at once, the one that wins the first start is also first at the others, so the page is fetched once.
    const page = pageOrder(job);
    const ownAt = page.indexOf(job.taskId);
    const runs: Promise<void>[] = [];
    const worked: Promise<void>[] = [];
    let startedAny = false;
    // Said once, when the first of the page's runs has its page (its page-mates share that fetch).
    let near = false;
    const paged = () => {
      if (!near) progress?.nearEnd?.();
      near = true;
    };
    const together = startTogether(page, ownAt, job);
    if (together) {
      // Every run registered at once (runningHere), before the store answers: none is started here twice.
      for (const [i, id] of page.entries()) {
        const run = startRun(id, job, i !== ownAt, paged, together);
        runs.push(run.done);
        worked.push(run.worked);
      }
    } else {
      for (const [i, id] of page.entries()) {
        // A fresh job that started none of the page's tasks up to its own skips the rest (no store calls): whoever
        // started those started the rest with them. A retry (or a redelivery) claims them anyway, for a page-mate
        // given back after a crash has no other message left.
        if (i > ownAt && !startedAny && job.firstDelivery === true && job.retried !== true) break;
        const run = startRun(id, job, i !== ownAt, paged);
        runs.push(run.done);
        worked.push(run.worked);
        if (await run.started) startedAny = true;
      }
    }
    void Promise.all(worked).then(() => progress?.workDone());
    const outcomes = await Promise.allSettled(runs);
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    // Not acked beats retried beats dead-lettered: a retry reruns the page-mates that crashed, final ones are no-ops.
    const pick = errors.find((e) => e instanceof TaskInterruptedError) ?? errors.find((e) => !(e instanceof DeadLetterError)) ?? errors[0];
    if (pick !== undefined) throw pick;
  }

  /**
   * A fresh job's page-mates started in one store call (TaskStore.startTasks: on MongoDB one ticket insert and
   * one update for all), with the rule the one-by-one loop below follows: the tasks after the job's own are
   * started only if one up to it is. Undefined when fewer than two are left to start here.
   */
  function startTogether(page: string[], ownAt: number, job: Job): Promise<Map<string, Task | null>> | undefined {
    if (job.firstDelivery !== true || job.retried === true) return undefined;
    const ids = page.filter((id) => !leftHere(id, job, true));
    const lead = page.slice(0, ownAt + 1).filter((id) => ids.includes(id)).length;
    if (ids.length < 2 || lead === 0) return undefined;
    return deps.store.startTasks(ids, { ...deps.lease, reopenExhausted: job.replayed === true }, lead);
  }

  /** Does this call leave the task alone: a run here covers it (or a redelivery would wait for that), or it succeeded here? */
  function leftHere(taskId: string, job: Job, covered: boolean): boolean {
    // Succeeded here: a start would find it final (no store call). A replay may still reopen what gave up.
    return (covered && runningHere.has(taskId)) || (succeededHere.has(taskId) && job.replayed !== true);
  }

  /** runHere, with `started` resolving once it is known whether this call started the task, `worked` once only its final write is left. */
  function startRun(
    taskId: string, job: Job, sibling: boolean, paged: () => void, together?: Promise<Map<string, Task | null>>,
  ): { started: Promise<boolean>; worked: Promise<void>; done: Promise<void> } {
    let started!: (started: boolean) => void;
    let worked!: () => void;
    const startedP = new Promise<boolean>((resolve) => (started = resolve));
    const workedP = new Promise<void>((resolve) => (worked = resolve));
    const done = runHere(taskId, job, sibling, { started, worked, paged }, together).finally(() => {
      started(false);
      worked();
    });
    return { started: startedP, worked: workedP, done };
  }

  /**
   * One task of a job, unless this process runs it already: a page-mate is then left to that run, and so is the
   * job's own task on a first delivery (the run's message covers it); a redelivery waits for that run first.
   * `hear` hears whether this call started the task, and when only its final write is left.
   */
  async function runHere(taskId: string, job: Job, sibling: boolean, hear?: RunHooks, together?: Promise<Map<string, Task | null>>): Promise<void> {
    const covered = sibling || job.firstDelivery === true;
    if (leftHere(taskId, job, covered)) return;
    for (let other = runningHere.get(taskId); other; other = runningHere.get(taskId)) await other.catch(() => {});
    const run = attempt(taskId, job, !covered, hear, together);
    runningHere.set(taskId, run);
    try {
      await run;
    } finally {
      if (runningHere.get(taskId) === run) runningHere.delete(taskId);
    }
  }

  async function attempt(taskId: string, job: Job, waits: boolean, hear?: RunHooks, together?: Promise<Map<string, Task | null>>): Promise<void> {
    deps.log.debug({ step: 'acquire', taskId, of: job.taskId }, 'timeline');
    const task = await acquire(taskId, job.replayed === true, waits, together);
    deps.log.debug({ step: task ? 'acquired' : 'notacquired', taskId, of: job.taskId }, 'timeline');
    hear?.started(task !== null);
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
        hear?.paged();
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
    hear?.worked();
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
    if (final?.status === 'succeeded') rememberSucceeded(final.id);
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
    // A page-mate this job ran and gave back after a crash may have no message of its own left (it was acked
    // while we held the task); one never started, or held by a live worker, is left to its own message.
    for (const id of job.siblings ?? []) await giveUpOn(id, error, (task) => task.status === 'queued' && task.attempts > 0);
  }

  async function giveUpOn(taskId: string, error: unknown, applies: (task: Task) => boolean): Promise<void> {
    const task = await deps.store.getTask(taskId);
    if (!task || task.status === 'succeeded' || task.status === 'failed' || !applies(task)) return;
    const exhausted = attemptsExhaustedError(task.attempts, toTaskError(error));
    await deps.store.finishTask(task.id, { status: 'failed', error: exhausted });
    deps.log.error({ taskId: task.id, error: exhausted }, `task gave up: the queue dead-lettered it (${ATTEMPTS_EXHAUSTED})`);
  }

  /**
   * What handle would find for a fresh job, read without starting anything: it tries the page's tasks in order
   * up to the job's own and gives up when each is refused (known here, or decideStart says final or leased).
   * Read before the job's slot frees, this saves the slot that round trip for a page another worker took.
   */
  async function coveredElsewhere(job: Job): Promise<boolean> {
    if (job.firstDelivery !== true || job.retried === true || job.replayed === true) return false;
    // A job without page-mates has one message for its task (a sweeper's second one comes a minute late at the
    // earliest): nothing else takes it, so reading it ahead would only cost a round trip per job.
    if (!job.siblings?.length) return false;
    const page = pageOrder(job);
    for (const id of page.slice(0, page.indexOf(job.taskId) + 1)) {
      if (leftHere(id, job, true)) continue;
      const task = await deps.store.getTask(id);
      if (task && typeof decideStart(task, Date.now(), deps.lease) !== 'string') return false;
    }
    return true;
  }

  return { handle, onDeadLetter, coveredElsewhere };
}

/** A job's task and its page-mates in the one order every job of the page starts them (ids sorted). */
function pageOrder(job: Job): string[] {
  return [...new Set([job.taskId, ...(job.siblings ?? [])])].sort();
}

/** What a run tells the job that started it: whether it started the task, and when only its final write is left. */
interface RunHooks {
  started(started: boolean): void;
  worked(): void;
  /** Its page is fetched (JobProgress.nearEnd). */
  paged(): void;
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
