/**
 * The counts of the image links this process wrote for a task since the task had none, so that finishing it
 * needs no `$group` over its links (FerretDB v1 charges a few ms of CPU for each).
 *
 * A tally starts only at a task's first start, when it is known to have no links anywhere: links are written
 * only by runs, and every run counts an attempt. It is trusted only when the finish applies to the task still
 * at that attempt: no other run started in between (a takeover, a retry), so no other process wrote its links.
 * Whatever this process cannot account for exactly (a position linked again, which overwrites an outcome it
 * did not keep; a write that threw, which may have half-applied; a clear) drops the tally, and the finish
 * counts the links in the store as before.
 */
import type { ImageCounts, ImageOutcome } from '../task.js';
import { emptyCounts } from '../task-rules.js';

/** Tasks tallied at once at most; the oldest is dropped past it (its finish then counts in the store). */
const MAX_TALLIES = 4096;

interface Tally {
  /** The attempt the task was at when the tally began. */
  attempt: number;
  counts: ImageCounts;
}

export class LinkTallies {
  private readonly tallies = new Map<string, Tally>();

  /** The task, now at `attempt`, has no links: count from zero. */
  begin(taskId: string, attempt: number): void {
    this.tallies.delete(taskId);
    this.tallies.set(taskId, { attempt, counts: emptyCounts() });
    if (this.tallies.size > MAX_TALLIES) this.tallies.delete(this.tallies.keys().next().value!);
  }

  /** A new link (its position had none) was written. */
  add(taskId: string, outcome: ImageOutcome): void {
    const counts = this.tallies.get(taskId)?.counts;
    if (!counts) return;
    counts[outcome] += 1;
    counts.found += 1;
  }

  /** The task's links changed in a way not counted here. */
  drop(taskId: string): void {
    this.tallies.delete(taskId);
  }

  /**
   * The task's counts, if tallied since `attempt` began (the attempt its final write applied to), and forgets
   * them: its run is over. Undefined otherwise.
   */
  take(taskId: string, attempt: number): ImageCounts | undefined {
    const tally = this.tallies.get(taskId);
    this.tallies.delete(taskId);
    return tally?.attempt === attempt ? { ...tally.counts } : undefined;
  }
}
