import { GroupCommit, type ItemOutcomes } from '../../src/util/group-commit.js';

/** A write that records its items and is answered when the test says (each item doubled, or its own error). */
function recordingWrite() {
  const writes: number[][] = [];
  const answers: Array<() => void> = [];
  const write = (items: number[]): Promise<ItemOutcomes<number>> => {
    writes.push(items);
    return new Promise((resolve, reject) => {
      answers.push(() => {
        if (items.includes(-1)) reject(new Error('the command failed'));
        else resolve(items.map((n) => (n === 13 ? Promise.reject(new Error(`item ${n} refused`)) : Promise.resolve(n * 2))));
      });
    });
  };
  /** Answers the writes in flight once they are sent. */
  const answer = async () => {
    while (answers.length === 0) await new Promise((r) => setImmediate(r));
    answers.shift()!();
  };
  return { writes, write, answer };
}

describe('GroupCommit', () => {
  it('sends the items submitted together as one write and answers each with its own outcome', async () => {
    const w = recordingWrite();
    const group = new GroupCommit(w.write, { max: 32 });
    const results = [1, 2, 3].map((n) => group.submit(n));
    await w.answer();
    await expect(Promise.all(results)).resolves.toEqual([2, 4, 6]);
    expect(w.writes).toEqual([[1, 2, 3]]);
  });

  it('gathers what arrives while a write is in flight into the next write', async () => {
    const w = recordingWrite();
    const group = new GroupCommit(w.write, { max: 32 });
    const first = group.submit(1);
    while (w.writes.length === 0) await new Promise((r) => setImmediate(r));
    const later = [group.submit(2), group.submit(3)];
    await w.answer();
    await expect(first).resolves.toBe(2);
    await w.answer();
    await expect(Promise.all(later)).resolves.toEqual([4, 6]);
    expect(w.writes).toEqual([[1], [2, 3]]);
    await group.idle();
  });

  it('fails only the item the write refused; a failed command fails every item it carried', async () => {
    const w = recordingWrite();
    const group = new GroupCommit(w.write, { max: 32 });
    const results = [12, 13, 14].map((n) => group.submit(n).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    await w.answer();
    expect(await Promise.all(results)).toEqual([{ v: 24 }, { e: 'item 13 refused' }, { v: 28 }]);
    const failed = [5, -1].map((n) => group.submit(n).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    await w.answer();
    expect(await Promise.all(failed)).toEqual([{ e: 'the command failed' }, { e: 'the command failed' }]);
    // The next write is unaffected.
    const next = group.submit(7);
    await w.answer();
    await expect(next).resolves.toBe(14);
  });

  it('keeps items of one key, and items beyond max, for the following writes in their order', async () => {
    const w = recordingWrite();
    const group = new GroupCommit(w.write, { max: 3, key: (n: number) => String(n % 10) });
    const results = [1, 11, 2, 3, 4, 21].map((n) => group.submit(n));
    for (let i = 0; i < 3; i++) await w.answer();
    await expect(Promise.all(results)).resolves.toEqual([2, 22, 4, 6, 8, 42]);
    expect(w.writes).toEqual([[1, 2, 3], [11, 4], [21]]);
  });

  it('does not hold the next write for an item whose outcome comes later', async () => {
    let finishSlow!: (v: string) => void;
    const writes: string[][] = [];
    const group = new GroupCommit(async (items: string[]): Promise<ItemOutcomes<string>> => {
      writes.push(items);
      return items.map((s) => (s === 'slow' ? new Promise<string>((r) => (finishSlow = r)) : Promise.resolve(s.toUpperCase())));
    }, { max: 32 });
    const slow = group.submit('slow');
    const fast = group.submit('fast');
    await expect(fast).resolves.toBe('FAST');
    await expect(group.submit('next')).resolves.toBe('NEXT'); // a second write, while the slow item is still out
    expect(writes).toEqual([['slow', 'fast'], ['next']]);
    finishSlow('done late');
    await expect(slow).resolves.toBe('done late');
  });

  it('idle() waits for the writes in flight and those queued behind them', async () => {
    const w = recordingWrite();
    const group = new GroupCommit(w.write, { max: 1 });
    const results = [1, 2].map((n) => group.submit(n));
    let idle = false;
    const waiting = group.idle().then(() => (idle = true));
    await w.answer();
    await results[0];
    expect(idle).toBe(false);
    await w.answer();
    await waiting;
    expect(idle).toBe(true);
    await expect(results[1]).resolves.toBe(4);
  });
});
