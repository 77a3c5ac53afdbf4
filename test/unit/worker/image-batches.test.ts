import { openSqliteTaskStore, type SqliteTaskStore } from '../../../src/models/sqlite/sqlite-task-store.js';
import type { ClaimResult, Task } from '../../../src/models/task.js';
import { PageClaims, Settlements } from '../../../src/worker/image-batches.js';

describe('the batched store calls of a page\'s images', () => {
  let store: SqliteTaskStore;
  beforeEach(() => {
    store = openSqliteTaskStore(':memory:');
  });
  afterEach(() => store.close());

  const urls = Array.from({ length: 10 }, (_, i) => `https://e.test/img/${i}.png`);

  it('claims a chunk ahead in one call, and gives the claims no download took', async () => {
    const task = await store.createTask({ kind: 'images', url: 'https://e.test/', refresh: false });
    const calls: string[][] = [];
    const claims = new PageClaims(urls, 4, (u) => {
      calls.push(u);
      return store.claimImages(u, { taskId: task.id, staleAfterMs: 60_000 });
    });
    const first = await Promise.all([0, 1, 2].map((p) => claims.take(p)));
    expect(first.map((c) => [c.outcome, c.image.sourceUrl])).toEqual([0, 1, 2].map((p) => ['claimed', urls[p]]));
    expect(calls).toEqual([urls.slice(0, 4)]);
    await claims.take(5); // past the chunk: the next one starts there
    expect(calls).toEqual([urls.slice(0, 4), urls.slice(5, 9)]);
    // Positions 3, 6, 7, 8 were claimed and never taken; 4 and 9 were never asked for.
    expect((await claims.untaken()).map((i) => i.sourceUrl).sort()).toEqual([urls[3], urls[6], urls[7], urls[8]].sort());
  });

  /** A task with every URL claimed, and the sizes of the settleImages calls made from now on. */
  async function claimedPage(): Promise<{ task: Task; claimed: ClaimResult[]; batchSizes: number[] }> {
    const task = await store.createTask({ kind: 'images', url: 'https://e.test/', refresh: false });
    const claimed = await store.claimImages(urls, { taskId: task.id, staleAfterMs: 60_000 });
    const batchSizes: number[] = [];
    const settleImages = store.settleImages.bind(store);
    store.settleImages = (items) => {
      batchSizes.push(items.length);
      return settleImages(items);
    };
    return { task, claimed, batchSizes };
  }

  it('writes the settlements that arrive together in one call, and later ones in the next', async () => {
    const { task, claimed, batchSizes } = await claimedPage();
    const settlements = new Settlements(store);
    const file = (i: number) => ({ sha256: String(i).padStart(64, '0'), key: `images/00/${i}.png`, mime: 'image/png', bytes: 1 });
    const settle = (i: number) => settlements.settle({
      link: { taskId: task.id, position: i, sourceUrl: urls[i]!, imageId: claimed[i]!.image.id, outcome: 'stored' },
      completion: { status: 'stored', file: file(i) },
    });
    const together = await Promise.all([0, 1, 2, 3, 4, 5].map(settle));
    expect(together.every((r) => r.linked)).toBe(true);
    expect(await Promise.all([6, 7].map(settle))).toHaveLength(2);
    expect(batchSizes).toEqual([6, 2]);
    expect(await store.imageCounts(task.id)).toMatchObject({ found: 8, stored: 8 });
  });

  it('waits for every image in work to join a batch, and no longer than the linger when one does not', async () => {
    const { task, claimed, batchSizes } = await claimedPage();
    const settlements = new Settlements(store, 60_000);
    const error = { code: 'http_error', message: '404' };
    const failedItem = (i: number) => ({
      link: { taskId: task.id, position: i, sourceUrl: urls[i]!, imageId: claimed[i]!.image.id, outcome: 'failed' as const, error },
      completion: { status: 'failed' as const, error },
    });
    const settle = (i: number) => settlements.settle(failedItem(i));
    for (let i = 0; i < 3; i++) settlements.begin();
    const first = [settle(0), settle(1)];
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(batchSizes).toEqual([]); // the third image is still in work
    first.push(settle(2));
    await Promise.all(first);
    expect(batchSizes).toEqual([3]);
    for (let i = 0; i < 3; i++) settlements.end();
    // An image that ends without settling releases the batch waiting for it.
    settlements.begin();
    settlements.begin();
    const fourth = settle(3);
    settlements.end();
    await fourth;
    expect(batchSizes).toEqual([3, 1]);
    // One that stays in work holds a batch only for the linger.
    const short = new Settlements(store, 20);
    short.begin();
    short.begin();
    await short.settle(failedItem(4));
    expect(batchSizes).toEqual([3, 1, 1]);
    expect(await store.imageCounts(task.id)).toMatchObject({ found: 5, failed: 5 });
  });

  it('answers a link with no claim to complete at once, and writes it with the next batch or at flush', async () => {
    const { task, claimed, batchSizes } = await claimedPage();
    const settlements = new Settlements(store);
    const linkOnly = (i: number) => ({ link: { taskId: task.id, position: i, sourceUrl: urls[i]!, imageId: claimed[i]!.image.id, outcome: 'reused' as const } });
    expect(await settlements.settle(linkOnly(0))).toEqual({ image: null, linked: true });
    expect(await settlements.settle(linkOnly(1))).toEqual({ image: null, linked: true });
    expect(batchSizes).toEqual([]);
    const file = { sha256: '2'.padStart(64, '0'), key: 'images/00/2.png', mime: 'image/png', bytes: 1 };
    const stored = await settlements.settle({
      link: { taskId: task.id, position: 2, sourceUrl: urls[2]!, imageId: claimed[2]!.image.id, outcome: 'stored' },
      completion: { status: 'stored', file },
    });
    expect(stored.linked).toBe(true);
    expect(batchSizes).toEqual([3]); // the completion carried the two links answered before it
    await settlements.settle(linkOnly(3));
    await settlements.flush();
    expect(batchSizes).toEqual([3, 1]);
    expect(await store.imageCounts(task.id)).toMatchObject({ found: 4, reused: 3, stored: 1 });
    await settlements.flush(); // nothing left: no call
    expect(batchSizes).toEqual([3, 1]);
  });

  it('fails flush when a link it answered early could not be written', async () => {
    const { task, claimed } = await claimedPage();
    const settlements = new Settlements(store);
    store.settleImages = () => Promise.reject(new Error('store down'));
    await settlements.settle({ link: { taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: claimed[0]!.image.id, outcome: 'reused' } });
    await expect(settlements.flush()).rejects.toThrow('store down');
  });
});
