import { progressBar, progressLine, ProgressReporter, type BatchView } from '../../src/cli/progress.js';

const view = (finished: number, eta: number | null): BatchView => ({
  id: 'b', status: 'running', task_count: 200,
  counts: { queued: 200 - finished, running: 0, succeeded: finished - 3, failed: 3, finished },
  progress: finished / 200, rates: { tasks_per_second: 12.5, eta_seconds: eta },
});

describe('CLI progress', () => {
  it('says done, failed, rate and ETA, with a bar on a terminal', () => {
    expect(progressLine(view(50, 12))).toBe(' 25.0% 50/200 done (47 ok, 3 failed) 12.5/s ETA 12s running');
    expect(progressLine(view(50, 3725))).toContain('ETA 1h02m');
    expect(progressLine(view(50, null))).toContain('ETA ?');
    expect(progressBar(view(100, 8))).toMatch(/^\[#{12}-{12}\] {2}50\.0% /);
  });

  it('rewrites one line on a terminal and prints plain lines, spaced out, otherwise', () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, columns: 200, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
    const tty = new ProgressReporter(stream(true));
    tty.update(view(10, 5));
    expect(written.pop()).toMatch(/^\r\[#/);
    const plain = new ProgressReporter(stream(false), 60_000);
    plain.update(view(10, 5));
    plain.update(view(20, 5));
    plain.done(view(200, 0));
    expect(written).toEqual([`${progressLine(view(10, 5))}\n`, `${progressLine(view(200, 0))}\n`]);
  });
});
