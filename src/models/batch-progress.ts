/** Rules over a batch's progress: its state, and what can still be done to it. */
import type { BatchProgress, BatchWithProgress } from './batch.js';

export type BatchState = 'running' | 'completed' | 'cancelled';

export function emptyProgress(): BatchProgress {
  return { counts: { queued: 0, running: 0, succeeded: 0, failed: 0 } };
}

export const unfinishedCount = (p: BatchProgress): number => p.counts.queued + p.counts.running;

/** Completed once no task is queued or running; cancelled when cancelled (running tasks may still finish). */
export function batchState(b: BatchWithProgress): BatchState {
  if (b.cancelledAt) return 'cancelled';
  return unfinishedCount(b.progress) === 0 ? 'completed' : 'running';
}

/** The batch's finish time: the last task finish once nothing is left to run. */
export function finishedAt(b: BatchWithProgress): string | undefined {
  return unfinishedCount(b.progress) === 0 ? b.progress.lastFinishedAt ?? b.cancelledAt ?? b.createdAt : undefined;
}
