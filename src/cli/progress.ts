/** A batch's progress for people: a live bar on a terminal, a plain line at most every few seconds otherwise. */

export interface BatchView {
  id: string;
  status: string;
  task_count: number;
  counts: { queued: number; running: number; succeeded: number; failed: number; finished: number };
  progress: number;
  rates: { tasks_per_second: number | null; eta_seconds: number | null };
}

const BAR = 24;

function duration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressLine(b: BatchView): string {
  const c = b.counts;
  const rate = b.rates.tasks_per_second;
  return `${(b.progress * 100).toFixed(1).padStart(5)}% ${c.finished}/${b.task_count} done (${c.succeeded} ok, ${c.failed} failed)`
    + ` ${rate === null ? '–' : rate.toFixed(1)}/s ETA ${duration(b.rates.eta_seconds)} ${b.status}`;
}

export function progressBar(b: BatchView): string {
  const filled = Math.round(b.progress * BAR);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${progressLine(b)}`;
}

export class ProgressReporter {
  private lastPlain = 0;

  constructor(private readonly out: NodeJS.WriteStream, private readonly plainEveryMs = 5000) {}

  update(b: BatchView): void {
    if (this.out.isTTY) {
      this.out.write(`\r${progressBar(b).slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
      return;
    }
    if (Date.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = Date.now();
      this.out.write(`${progressLine(b)}\n`);
    }
  }

  done(b: BatchView): void {
    this.out.write(this.out.isTTY ? `\r${progressBar(b)}\x1b[K\n` : `${progressLine(b)}\n`);
  }
}
