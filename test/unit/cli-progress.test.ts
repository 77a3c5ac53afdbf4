/** The CLI's progress view: a redrawn bar on a terminal, one plain line per change elsewhere. */
import { Writable } from 'node:stream';
import { progressView, type BatchSnapshot } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = new Writable({ write(chunk, _enc, cb) { s.text += chunk.toString(); cb(); } }) as unknown as NodeJS.WriteStream & { text: string };
  s.text = '';
  Object.assign(s, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return s;
}

const snap = (finished: number, failed: number, rate: number | null, eta: number | null): BatchSnapshot => ({
  id: 'b1', status: finished === 10 ? 'completed' : 'running', task_count: 10,
  counts: { queued: 10 - finished, running: 0, succeeded: finished - failed, failed, finished },
  rates: { tasks_per_second: rate, eta_seconds: eta },
});

describe('progressView', () => {
  it('prints one plain line per change of the counts off a terminal', () => {
    const s = fakeStream(false);
    const view = progressView(s);
    view.update(snap(0, 0, null, null));
    view.update(snap(0, 0, 1.5, 7)); // only the rate moved
    view.update(snap(4, 1, 2, 3));
    view.update(snap(10, 1, 2.5, 0));
    view.stop();
    expect(s.text.trim().split('\n')).toEqual([
      'batch b1 running: 0/10 done, 0 failed, - tasks/s, ETA -',
      'batch b1 running: 4/10 done, 1 failed, 2.0 tasks/s, ETA 3s',
      'batch b1 completed: 10/10 done, 1 failed, 2.5 tasks/s, ETA 0s',
    ]);
  });

  it('draws a bar with done, failed, rate and ETA on a terminal', () => {
    const s = fakeStream(true);
    const view = progressView(s);
    view.update(snap(4, 1, 2, 3));
    view.stop();
    expect(s.text).toMatch(/batch b1 \|.+\| 4\/10 done \| 1 failed \| 2\.0 tasks\/s \| ETA 3s/);
  });
});
