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
    const settle = (i: number) => settlements.settle({ link: { taskId: task.id, position: i, sourceUrl: urls[i]!, imageId: claimed[i]!.image.id, outcome: 'failed' } });
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
    await short.settle({ link: { taskId: task.id, position: 4, sourceUrl: urls[4]!, imageId: claimed[4]!.image.id, outcome: 'failed' } });
    expect(batchSizes).toEqual([3, 1, 1]);
    expect(await store.imageCounts(task.id)).toMatchObject({ found: 5, failed: 5 });
  });
});
