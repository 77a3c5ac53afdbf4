/** Shows a batch's progress: a live bar (done / failed / rate / ETA) on a terminal, plain lines otherwise. */
import cliProgress from 'cli-progress';

export interface BatchSnapshot {
  id: string;
  status: string;
  task_count: number;
  counts: { queued: number; running: number; succeeded: number; failed: number; finished: number };
  rates: { tasks_per_second: number | null; eta_seconds: number | null };
}

export interface ProgressView {
  update(b: BatchSnapshot): void;
  stop(): void;
}

const rate = (b: BatchSnapshot) => (b.rates.tasks_per_second === null ? '-' : b.rates.tasks_per_second.toFixed(1));
const eta = (b: BatchSnapshot) => (b.rates.eta_seconds === null ? '-' : `${Math.ceil(b.rates.eta_seconds)}s`);

export function progressLine(b: BatchSnapshot): string {
  return `batch ${b.id} ${b.status}: ${b.counts.finished}/${b.task_count} done, ${b.counts.failed} failed, ${rate(b)} tasks/s, ETA ${eta(b)}`;
}

/** A bar redrawn in place; the API's rate and ETA are shown rather than the bar's own guesses. */
function barView(stream: NodeJS.WriteStream): ProgressView {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'batch {id} |{bar}| {value}/{total} done | {failed} failed | {rate} tasks/s | ETA {eta_api}',
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(b) {
      const payload = { id: b.id, failed: b.counts.failed, rate: rate(b), eta_api: eta(b) };
      if (!started) {
        bar.start(b.task_count, b.counts.finished, payload);
        started = true;
      } else {
        bar.setTotal(b.task_count);
        bar.update(b.counts.finished, payload);
      }
    },
    stop: () => bar.stop(),
  };
}

/** One line when the counts change, so logs of a long batch stay short. */
function lineView(write: (line: string) => void): ProgressView {
  let last = '';
  return {
    update(b) {
      // Keyed on the counts, not the rate: an unchanged batch prints nothing.
      const key = `${b.status} ${b.counts.finished} ${b.counts.failed} ${b.task_count}`;
      if (key !== last) write(progressLine(b));
      last = key;
    },
    stop() {},
  };
}

export function progressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  return stream.isTTY ? barView(stream) : lineView((line) => stream.write(`${line}\n`));
}
