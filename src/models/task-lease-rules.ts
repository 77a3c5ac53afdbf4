/**
 * The decisions about task leases, attempts and dispatch receipts, as pure functions over a task: each
 * adapter loads the task, asks here, and saves the patch atomically (SQLite in one IMMEDIATE transaction,
 * MongoDB through a revision ticket). Nothing here does I/O, so both adapters follow the same rules.
 */
import type { PageInfo, Task, TaskError, TaskStatus } from './task.js';

/** What the worker asks for when it starts or renews: `owner` holds the task for `ms` from now. */
export interface LeaseRequest {
  owner: string;
  ms: number;
}

export interface StartOptions extends LeaseRequest {
  /** A replayed dead letter may start a task that gave up (failed with attempts_exhausted) afresh. */
  reopenExhausted?: boolean;
}

/** Fields to change; null removes the field. `updatedAt` is always set. */
export interface TaskPatch {
  status?: TaskStatus;
  attempts?: number;
  startedAt?: string;
  finishedAt?: string | null;
  error?: TaskError | null;
  lease?: { owner: string; until: string } | null;
  dispatchPendingSince?: string | null;
  /** What the finished task learned about its page (decideFinish in task-rules.ts). */
  page?: PageInfo;
  updatedAt: string;
}

export const ATTEMPTS_EXHAUSTED = 'attempts_exhausted';

const iso = (ms: number): string => new Date(ms).toISOString();
const isFinal = (t: Task): boolean => t.status === 'succeeded' || t.status === 'failed';
const leaseLive = (t: Task, nowMs: number): boolean => t.lease !== undefined && Date.parse(t.lease.until) > nowMs;

/** Why starting did not change the task: it is over, or another live worker holds it. */
export type StartRefusal = 'final' | 'leased';

/**
 * queued|running → running with attempts + 1 and the caller's lease, unless another worker's lease is
 * still live (it is running it now). With no lease requested (old callers), leases are not looked at.
 */
export function decideStart(task: Task, nowMs: number, options?: StartOptions): TaskPatch | StartRefusal {
  const now = iso(nowMs);
  const lease = options ? { owner: options.owner, until: iso(nowMs + options.ms) } : null;
  if (isFinal(task)) {
    if (!(options?.reopenExhausted && task.status === 'failed' && task.error?.code === ATTEMPTS_EXHAUSTED)) return 'final';
    return { status: 'running', attempts: 1, startedAt: now, finishedAt: null, error: null, lease, dispatchPendingSince: null, updatedAt: now };
  }
  if (options && task.status === 'running' && leaseLive(task, nowMs) && task.lease?.owner !== options.owner) return 'leased';
  // A started task has plainly been dispatched: its receipt goes with this write, not a separate one.
  return { status: 'running', attempts: task.attempts + 1, startedAt: now, lease, dispatchPendingSince: null, updatedAt: now };
}

/** Only the holder of a running task's lease extends it; false when it was taken over or the task ended. */
export function decideRenew(task: Task, nowMs: number, request: LeaseRequest): TaskPatch | null {
  if (task.status !== 'running' || task.lease?.owner !== request.owner) return null;
  return { lease: { owner: request.owner, until: iso(nowMs + request.ms) }, updatedAt: iso(nowMs) };
}

/**
 * The holder gives a running task back to the queue after an attempt that will be retried: it is `queued`
 * again (nobody is on it until the retry arrives) and `error` says what the attempt ran into.
 */
export function decideRelease(task: Task, nowMs: number, owner: string, error: TaskError): TaskPatch | null {
  if (task.status !== 'running' || task.lease?.owner !== owner) return null;
  return { status: 'queued', lease: null, error, updatedAt: iso(nowMs) };
}

/**
 * May `owner` (undefined: anyone, as before leases) finish the task? Not once it is final, and not when
 * another worker took it over; the lease is dropped with the final state.
 */
export function mayFinish(task: Task, owner: string | undefined): boolean {
  if (isFinal(task)) return false;
  return owner === undefined || task.lease === undefined || task.lease.owner === owner;
}

/** The queue confirmed a message for it: the sweeper leaves it alone from now on (a started task was cleared by its start). */
export function decideDispatched(task: Task, nowMs: number): TaskPatch | null {
  if (task.status !== 'queued' || task.dispatchPendingSince === undefined) return null;
  return { dispatchPendingSince: null, updatedAt: iso(nowMs) };
}

/**
 * The sweeper takes a queued task whose dispatch has been unconfirmed for `olderThanMs`, restarting the
 * clock so that no other sweeper takes it until that long again (if this one dies before the queue confirms).
 */
export function decideSweep(task: Task, nowMs: number, olderThanMs: number, seen: string | undefined): TaskPatch | null {
  // Compare-and-set on what the sweeper selected: another sweeper that took it first has moved the clock.
  if (task.status !== 'queued' || task.dispatchPendingSince === undefined || task.dispatchPendingSince !== seen) return null;
  if (Date.parse(task.dispatchPendingSince) > nowMs - olderThanMs) return null;
  return { dispatchPendingSince: iso(nowMs), updatedAt: iso(nowMs) };
}

/** The error of a task that gave up: how many attempts, and what the last one ran into. */
export function attemptsExhaustedError(attempts: number, last: TaskError | string | undefined): TaskError {
  const what = last === undefined
    ? 'the worker running it stopped before finishing (it crashed, or lost its lease)'
    : typeof last === 'string' ? last : `${last.code}: ${last.message}`;
  return { code: ATTEMPTS_EXHAUSTED, message: `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}; the last failed with ${what}` };
}
