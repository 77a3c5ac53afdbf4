import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { Connection } from 'mongoose';
import type { CrawlSpec } from '../../src/models/crawl.js';
import { newIdWithTime } from '../../src/models/ids.js';
import { pageDocId, urlDocId } from '../../src/models/mongo/frontier-model.js';
import { openMongoTaskStore } from '../../src/models/mongo/mongo-task-store.js';
import { bindModels } from '../../src/models/mongo/models.js';
import { Revisions } from '../../src/models/mongo/revision.js';
import { isDuplicateKey } from '../../src/models/mongo/write-errors.js';
import { insertEach } from '../../src/models/mongo/task-writes.js';
import type { TaskDoc } from '../../src/models/mongo/task-model.js';
import { imageIdFor } from '../../src/models/task-rules.js';
import type { TaskStore } from '../../src/models/task-store.js';
import { SharedTokenBuckets } from '../../src/ops/token-bucket.js';
import { describeWithService } from '../helpers/services.js';
import { describeBatchStoreContract } from './batch-store.contract.js';
import { describeFrontierRace, describeFrontierStoreContract } from './frontier-store.contract.js';
import { describeOpsStoreContract } from './ops-store.contract.js';
import { describeSharedStoreContract, describeTaskStoreContract } from './task-store.contract.js';
import { describeWebhookClaimRace, describeWebhookStoreContract } from './webhook-store.contract.js';

type Doc = { _id: string } & Record<string, unknown>;
const freshDbName = () => `scrapeds_ct_${randomBytes(6).toString('hex')}`;

describeWithService('MONGO_URL', 'MongoTaskStore', (url) => {
  /** For dropping the per-test databases. */
  let admin: Connection | undefined;
  const dbNames = new Map<TaskStore, string>();

  async function adminConn(): Promise<Connection> {
    admin ??= await mongoose.createConnection(url).asPromise();
    return admin;
  }

  async function dropDb(name: string): Promise<void> {
    await (await adminConn()).useDb(name, { useCache: false }).dropDatabase();
  }

  async function openFresh(dbName = freshDbName()): Promise<TaskStore> {
    const store = await openMongoTaskStore(url, { dbName });
    dbNames.set(store, dbName);
    return store;
  }

  async function dispose(...stores: TaskStore[]): Promise<void> {
    const names = new Set<string>();
    for (const store of stores) {
      await store.close();
      const name = dbNames.get(store);
      if (name) names.add(name);
      dbNames.delete(store);
    }
    for (const name of names) await dropDb(name);
  }

  afterAll(async () => {
    await admin?.close();
  });

  it('runs its queries without recording a stack trace each, and a query run twice is still refused', async () => {
    const store = await openFresh();
    try {
      expect(mongoose.get('skipOriginalStackTraces')).toBe(true);
      const query = (await adminConn()).useDb(dbNames.get(store)!, { useCache: false }).model('Probe', new mongoose.Schema({ _id: String })).findById('x');
      await expect(query.exec()).resolves.toBeNull();
      await expect(query.exec()).rejects.toThrow(/Query was already executed/);
    } finally {
      await dispose(store);
    }
  });

  describeTaskStoreContract('mongo', () => openFresh(), (store) => dispose(store));
  describeBatchStoreContract('mongo', () => openFresh(), (store) => dispose(store));
  describeWebhookStoreContract('mongo', () => openFresh(), (store) => dispose(store));
  describeFrontierStoreContract('mongo', () => openFresh(), (store) => dispose(store));

  describeOpsStoreContract('mongo', () => openFresh(), (store) => dispose(store));

  describeSharedStoreContract('mongo, one database shared by two connections', async () => {
    const name = freshDbName();
    return [await openFresh(name), await openFresh(name)];
  }, (a, b) => dispose(a, b), (pair) => {
    describeWebhookClaimRace(pair);
    describeFrontierRace(pair);
    const file = { sha256: 'f'.repeat(64), key: `images/ff/${'f'.repeat(64)}.png`, mime: 'image/png', bytes: 3 };

    // A conditional update is not atomic on FerretDB v1: this is what the revision tickets are for.
    it('gives exactly one claim when 40 tasks on two connections retry the same failed image', async () => {
      const [a, b] = pair();
      const tasks = await Promise.all(Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).createTask({ kind: 'images', url: `https://example.test/p/${i}`, refresh: false })));
      for (let round = 0; round < 5; round++) {
        const u = `https://example.test/flaky/${round}.png`;
        const { image } = await a.claimImage(u, { taskId: tasks[0]!.id, staleAfterMs: 60_000 });
        await a.completeImage(image.id, tasks[0]!.id, { status: 'failed', error: { code: 'timeout', message: 't' } });

        const results = await Promise.all(tasks.map((t, i) =>
          (i % 2 ? a : b).claimImage(u, { taskId: t.id, staleAfterMs: 60_000 })));
        const claimed = results.filter((r) => r.outcome === 'claimed');
        expect(claimed).toHaveLength(1);
        const winner = claimed[0]!.image.ownerTaskId;
        expect(results.every((r) => r.image.ownerTaskId === winner)).toBe(true);
        expect((await b.getImage(image.id))?.ownerTaskId).toBe(winner);
      }
    });

    // A claim of an image this connection has seen exist skips the insert (KnownIds in mongo-task-store.ts), and
    // still decides on the record as it stands: what another connection made of the image since counts.
    it('claims an image it has seen exist by the record as it stands: another connection\'s refresh is joined, its failure retried', async () => {
      const [a, b] = pair();
      const [owner, refresher, later] = [
        await a.createTask({ kind: 'images', url: 'https://example.test/known/1', refresh: false }),
        await b.createTask({ kind: 'images', url: 'https://example.test/known/2', refresh: true }),
        await a.createTask({ kind: 'images', url: 'https://example.test/known/3', refresh: false }),
      ];
      const u = 'https://example.test/known.png';
      const opts = (taskId: string) => ({ taskId, staleAfterMs: 60_000 });
      const first = await a.claimImage(u, opts(owner.id));
      expect(first.outcome).toBe('claimed');
      await a.completeImage(first.image.id, owner.id, { status: 'stored', file });
      expect(await a.claimImage(u, opts(later.id))).toMatchObject({ outcome: 'stored', image: { status: 'stored' } });
      const refresh = await b.claimImage(u, { ...opts(refresher.id), refreshStoredBefore: new Date(Date.now() + 60_000).toISOString() });
      expect(refresh).toMatchObject({ outcome: 'claimed', image: { ownerTaskId: refresher.id } });
      expect(await a.claimImage(u, opts(later.id))).toMatchObject({ outcome: 'in_progress', image: { ownerTaskId: refresher.id } });
      await b.completeImage(refresh.image.id, refresher.id, { status: 'failed', error: { code: 'timeout', message: 'too slow' } });
      expect(await a.claimImage(u, opts(later.id))).toMatchObject({ outcome: 'claimed', image: { status: 'pending', ownerTaskId: later.id } });
    });

    it('inserts an image it had seen exist again once the image is gone from the store', async () => {
      const [a, b] = pair();
      const task = await a.createTask({ kind: 'images', url: 'https://example.test/removed', refresh: false });
      const urls = ['https://example.test/removed.png', 'https://example.test/kept.png'];
      const opts = { taskId: task.id, staleAfterMs: 60_000 };
      const first = await a.claimImages(urls, opts);
      expect(first.map((c) => c.outcome)).toEqual(['claimed', 'claimed']);
      await a.completeImage(first[1]!.image.id, task.id, { status: 'stored', file });
      // Nothing in the service removes images; an operator might.
      await (await adminConn()).useDb(dbNames.get(a)!, { useCache: false }).collection<Doc>('images').deleteOne({ _id: first[0]!.image.id });
      const again = await a.claimImages(urls, opts);
      expect(again.map((c) => c.outcome)).toEqual(['claimed', 'stored']);
      expect(await b.getImage(first[0]!.image.id)).toMatchObject({ status: 'pending', ownerTaskId: task.id, sourceUrl: urls[0] });
    });

    it('lets either the owner\'s completion or a stale takeover win, never both', async () => {
      const [a, b] = pair();
      const [t1, t2] = [
        await a.createTask({ kind: 'images', url: 'https://example.test/1', refresh: false }),
        await b.createTask({ kind: 'images', url: 'https://example.test/2', refresh: false }),
      ];
      for (let round = 0; round < 10; round++) {
        const u = `https://example.test/slow/${round}.png`;
        const { image } = await a.claimImage(u, { taskId: t1.id, staleAfterMs: 60_000 });
        await new Promise((r) => setTimeout(r, 3));
        const [done, taken] = await Promise.all([
          a.completeImage(image.id, t1.id, { status: 'stored', file }),
          b.claimImage(u, { taskId: t2.id, staleAfterMs: 1 }),
        ]);
        const completed = done.status === 'stored' && done.ownerTaskId === undefined;
        const tookOver = taken.outcome === 'claimed';
        expect(completed !== tookOver).toBe(true);
        const final = await a.getImage(image.id);
        expect(final?.status).toBe(completed ? 'stored' : 'pending');
      }
    });

    // A's completions start from the images as A last wrote them (no read) and go out as one batch write;
    // one of them was moved on by B meanwhile: that one is decided again on what B left, the rest apply.
    it('applies a batch of completions except the image another connection moved on, which it reports as it stands', async () => {
      const [a, b] = pair();
      const task = await a.createTask({ kind: 'images', url: 'https://example.test/batch', refresh: false });
      const urls = [0, 1, 2].map((i) => `https://example.test/batch/${i}.png`);
      const claims = await a.claimImages(urls, { taskId: task.id, staleAfterMs: 60_000 });
      expect(claims.map((c) => c.outcome)).toEqual(['claimed', 'claimed', 'claimed']);
      const moved = claims[1]!.image.id;
      await b.releaseImage(moved, task.id); // as if its owner gave it back from elsewhere
      await new Promise((r) => setTimeout(r, 1300)); // B's spent ticket is deleted by now (SPENT_FLUSH_MS): A's write itself must notice
      const settled = await a.settleImages(claims.map((c, position) => ({
        link: { taskId: task.id, position, sourceUrl: urls[position]!, imageId: c.image.id, outcome: 'stored' as const },
        completion: { status: 'stored' as const, file },
      })));
      expect(settled.map((s) => s.linked)).toEqual([true, false, true]);
      expect(settled[1]!.image).toMatchObject({ id: moved, status: 'pending' });
      expect(settled[1]!.image?.ownerTaskId).toBeUndefined();
      expect((await b.getImage(claims[0]!.image.id))?.status).toBe('stored');
      expect((await b.getImage(moved))?.status).toBe('pending');
      expect((await b.getImage(claims[2]!.image.id))?.status).toBe('stored');
    });

    it('records the receipts of a batch it created from the tasks as inserted, and as a no-op for one another connection started', async () => {
      const [a, b] = pair();
      const { jobs } = await a.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: ['https://example.test/r1', 'https://example.test/r2'] });
      const [first, ...rest] = jobs.map((j) => j.taskId);
      await b.startTask(first!, { owner: 'w-b', ms: 60_000 });
      await a.markDispatched(jobs.map((j) => j.taskId));
      expect(await b.getTask(first!)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w-b' } });
      for (const id of rest) {
        const task = await b.getTask(id);
        expect(task).toMatchObject({ status: 'queued', attempts: 0, batchId: expect.any(String) });
        expect(task?.dispatchPendingSince).toBeUndefined();
      }
      // The receipt was the guess's write: the next update starts from it and still applies.
      expect(await b.startTask(rest[0]!, { owner: 'w-b', ms: 60_000 })).toMatchObject({ status: 'running', attempts: 1 });
    });

    // A's finishes come together and share a ticket insert and an update (TaskWrites); B takes one task over
    // meanwhile. Per task, exactly one of A's finish and B's takeover applies, and each caller hears which.
    it('lets a takeover from another connection race a group of finishes: one of the two wins that task, the rest finish', async () => {
      const [a, b] = pair();
      for (let round = 0; round < 5; round++) {
        const tasks = await Promise.all(Array.from({ length: 5 }, (_, i) => a.createTask({ kind: 'text', url: `https://example.test/race/${round}/${i}`, refresh: false })));
        await Promise.all(tasks.map((t) => a.startTask(t.id, { owner: 'w-a', ms: 1 })));
        await new Promise((r) => setTimeout(r, 5)); // A's leases ran out: B may take a task over
        const contested = tasks[2]!.id;
        const [finishes, takeover] = await Promise.all([
          Promise.all(tasks.map((t) => a.finishTask(t.id, { status: 'succeeded' }, 'w-a'))),
          b.startTask(contested, { owner: 'w-b', ms: 60_000 }),
        ]);
        finishes.forEach((f, i) => { if (i !== 2) expect(f).toMatchObject({ status: 'succeeded' }); });
        const final = await b.getTask(contested);
        if (finishes[2]!.status === 'succeeded') {
          expect(takeover).toBeNull(); // a final task is not started
          expect(final).toMatchObject({ status: 'succeeded', attempts: 1 });
        } else {
          expect(finishes[2]).toMatchObject({ status: 'running', attempts: 2, lease: { owner: 'w-b' } });
          expect(takeover).toMatchObject({ status: 'running', attempts: 2, lease: { owner: 'w-b' } });
          expect(final).toMatchObject({ status: 'running', lease: { owner: 'w-b' } });
        }
      }
    });

    it('records a dispatch receipt as a no-op when another connection started the task after this one created it', async () => {
      const [a, b] = pair();
      const task = await a.createTask({ kind: 'text', url: 'https://example.test/receipt', refresh: false });
      const started = await b.startTask(task.id, { owner: 'w-b', ms: 60_000 });
      expect(started?.status).toBe('running');
      await a.markDispatched([task.id]); // A remembers the task as queued and pending: its guess must not win
      const now = await b.getTask(task.id);
      expect(now).toMatchObject({ status: 'running', lease: { owner: 'w-b' } });
      expect(await a.finishTask(task.id, { status: 'succeeded' }, 'w-b')).toMatchObject({ status: 'succeeded' });
    });
  });

  // Task updates that come together share a write (TaskWrites); one whose ticket someone holds waits alone.
  it('finishes the other tasks of a group at once while one waits for the holder of its ticket', async () => {
    const dbName = freshDbName();
    const store = await openFresh(dbName);
    const raw = (await adminConn()).useDb(dbName, { useCache: false });
    try {
      const [held, free] = await Promise.all(['held', 'free'].map((k) => store.createTask({ kind: 'text', url: `https://example.test/${k}`, refresh: false })));
      for (const t of [held!, free!]) await store.startTask(t.id, { owner: 'w1', ms: 60_000 });
      const { rev } = (await raw.collection<Doc>('tasks').findOne({ _id: held!.id }))!;
      // Another process is updating `held` right now (its next revision's ticket, taken a moment ago).
      const ticket = `tasks/${held!.id}/${(rev as number) + 1}`;
      await raw.collection<Doc>('revision_tickets').insertOne({ _id: ticket, at: new Date() });
      let heldDone = false;
      const heldFinish = store.finishTask(held!.id, { status: 'succeeded' }, 'w1').then((t) => ((heldDone = true), t));
      const freeFinish = await store.finishTask(free!.id, { status: 'succeeded' }, 'w1');
      expect(freeFinish).toMatchObject({ status: 'succeeded' });
      expect(await store.renewLease(held!.id, { owner: 'w-other', ms: 60_000 })).toBe(false); // a later write is not held up either
      expect(heldDone).toBe(false);
      await raw.collection<Doc>('revision_tickets').deleteOne({ _id: ticket }); // the holder is done (it wrote nothing)
      expect(await heldFinish).toMatchObject({ status: 'succeeded' });
    } finally {
      await dispose(store);
    }
  });

  it('inserts documents together and fails only the one refused (a duplicate _id), by its index', async () => {
    const dbName = freshDbName();
    const conn = await mongoose.createConnection(url, { dbName }).asPromise();
    try {
      const docs = conn.collection<Doc>('group_inserts');
      await docs.insertOne({ _id: 'taken', n: 0 });
      const outcomes = await Promise.allSettled(await insertEach(docs as never, [{ _id: 'a', n: 1 }, { _id: 'taken', n: 2 }, { _id: 'b', n: 3, gone: undefined }]));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(isDuplicateKey((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
      expect(await docs.find({}).sort({ _id: 1 }).toArray()).toEqual([{ _id: 'a', n: 1 }, { _id: 'b', n: 3 }, { _id: 'taken', n: 0 }]);
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  });

  // startTasks decides on the page's documents as it read them (Revisions.updateMany's `known`): one that another
  // process moved on after that read is not written from the stale copy, but read and decided again.
  it('decides a batch update again on the document as it stands when the copy it was given went stale', async () => {
    const dbName = freshDbName();
    const store = await openFresh(dbName);
    const conn = await mongoose.createConnection(url, { dbName }).asPromise();
    try {
      const models = bindModels(conn);
      const revisions = new Revisions(models.tickets);
      const task = await store.createTask({ kind: 'text', url: 'https://example.test/stale', refresh: false });
      const stale = await models.tasks.collection.findOne({ _id: task.id } as never) as unknown as TaskDoc;
      await store.startTask(task.id, { owner: 'w-other', ms: 60_000 }); // rev 0 → 1 behind the copy's back
      const seen: Array<[number, string]> = [];
      const res = await revisions.updateMany('tasks', models.tasks, [task.id], (d) => {
        seen.push([d.rev, d.status]);
        return { set: { attempts: d.attempts + 10 } };
      }, new Map([[task.id, stale]]));
      expect(seen).toEqual([[0, 'queued'], [1, 'running']]);
      expect(res.get(task.id)).toMatchObject({ changed: true, doc: { rev: 2, attempts: 11 } });
      expect(await store.getTask(task.id)).toMatchObject({ status: 'running', attempts: 11, lease: { owner: 'w-other' } });
      await revisions.flush();
    } finally {
      await conn.close();
      await dispose(store);
    }
  });

  describe('a crawl frontier left half-done by a process that died inside add', () => {
    const spec: CrawlSpec = {
      url: 'https://site.test/', maxPages: 10, maxDepth: 3, include: [], exclude: [], sitemaps: false, sameSite: true, stripTrackingParams: false,
    };
    const lost = 'https://site.test/lost';
    const old = new Date(Date.now() - 60_000);
    let store: TaskStore;
    let raw: Connection;
    let batchId: string;

    beforeEach(async () => {
      const name = freshDbName();
      store = await openFresh(name);
      raw = (await adminConn()).useDb(name, { useCache: false });
      ({ batch: { id: batchId } } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [spec.url], crawl: spec }));
    });
    afterEach(() => dispose(store));

    const frontier = () => raw.collection<Doc>('crawl_frontier');
    const foundOnly = (at: Date) => frontier().insertOne({ _id: urlDocId(batchId, lost), batchId, kind: 'url', url: lost, depth: 1, at });
    const pageTaken = (at: Date) => frontier().insertOne({ _id: pageDocId(batchId, 1), batchId, kind: 'page', url: lost, depth: 1, page: 1, at });
    const tasksOf = async () => (await store.batches.listBatchTasks(batchId, { limit: 100 })).items.map((t) => [t.url, t.kind, t.batchSeq, t.status]);

    it('queues a URL found but never given a page, once, on a recheck only', async () => {
      await foundOnly(old);
      expect(await store.frontier.add(batchId, [{ url: lost, depth: 1 }])).toEqual([]);
      const jobs = await store.frontier.add(batchId, [{ url: lost, depth: 1 }], { recheck: true });
      expect(jobs.map((j) => j.kind)).toEqual(['text', 'images']);
      expect(await store.frontier.add(batchId, [{ url: lost, depth: 1 }], { recheck: true })).toEqual([]);
      expect(await tasksOf()).toEqual([
        [spec.url, 'text', 0, 'queued'], [spec.url, 'images', 1, 'queued'], [lost, 'text', 2, 'queued'], [lost, 'images', 3, 'queued'],
      ]);
      expect(await store.frontier.counters(batchId)).toMatchObject({ discovered: 2, queued: 2 });
    });

    it('gives a page position its missing tasks, keeping the ones that were written', async () => {
      await foundOnly(old);
      await pageTaken(old);
      // The page's text task was written before the crash; its images task was not.
      await raw.collection<Doc>('tasks').insertOne({
        _id: newIdWithTime().id, kind: 'text', url: lost, status: 'queued', refresh: false, attempts: 0, createdAt: old, updatedAt: old,
        rev: 0, batchId, batchSeq: 2, dispatchPendingSince: old,
      });
      const jobs = await store.frontier.add(batchId, [{ url: lost, depth: 1 }], { recheck: true });
      expect(jobs.map((j) => j.kind)).toEqual(['images']);
      expect((await tasksOf()).map(([url, kind, seq]) => [url, kind, seq])).toEqual([
        [spec.url, 'text', 0], [spec.url, 'images', 1], [lost, 'text', 2], [lost, 'images', 3],
      ]);
    });

    it('leaves a URL another process is adding right now alone', async () => {
      await foundOnly(new Date());
      expect(await store.frontier.add(batchId, [{ url: lost, depth: 1 }], { recheck: true })).toEqual([]);
      expect(await tasksOf()).toHaveLength(2);
    });
  });

  describe('rate-limit cells shared by two connections', () => {
    it('gives each cell to one claimer, finds the highest, and sweeps expired ones', async () => {
      const name = freshDbName();
      const [a, b] = [await openFresh(name), await openFresh(name)];
      try {
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).rateCells!.claim('k', i % 10, Date.now() + 60_000)));
        expect(results.filter(Boolean)).toHaveLength(10);
        expect(await a.rateCells!.highest('k', 0)).toBe(9);
        expect(await a.rateCells!.highest('k', 10)).toBeNull();
        await a.rateCells!.claim('old', 1, Date.now() - 1000);
        await b.rateCells!.sweep(Date.now());
        expect(await a.rateCells!.highest('old', 0)).toBeNull();
        expect(await a.rateCells!.highest('k', 0)).toBe(9);
      } finally {
        await dispose(a, b);
      }
    });

    it('lets two replicas together through no more than one bucket (FerretDB loses concurrent $inc, cells do not)', async () => {
      const name = freshDbName();
      const [a, b] = [await openFresh(name), await openFresh(name)];
      try {
        const buckets = [new SharedTokenBuckets(a.rateCells!), new SharedTokenBuckets(b.rateCells!)];
        const spec = { cellMs: 86_400_000, burst: 25 }; // a token a day: no refill within the test
        const results = await Promise.all(Array.from({ length: 80 }, (_, i) => buckets[i % 2]!.take('client', spec)));
        const ok = results.filter((r) => r.ok).length;
        expect(ok).toBe(25);
        // Later takes see the bucket empty on either replica.
        expect((await buckets[0]!.take('client', spec)).ok).toBe(false);
        expect((await buckets[1]!.take('client', spec)).ok).toBe(false);
      } finally {
        await dispose(a, b);
      }
    });
  });

  describe('opening', () => {
    it('creates the unique indexes and keeps data across reopening; closing twice is harmless', async () => {
      const name = freshDbName();
      const first = await openFresh(name);
      const task = await first.createTask({ kind: 'text', url: 'https://example.test/', refresh: false });
      await first.saveText(task.id, 'kept');
      await first.close();
      await first.close();

      const second = await openFresh(name); // indexes already there: creating them again is a no-op
      try {
        expect(await second.getTask(task.id)).toEqual(task);
        expect(await second.getText(task.id)).toBe('kept');
        const db = (await adminConn()).useDb(name, { useCache: false }).db!;
        const unique = async (coll: string) => (await db.collection(coll).indexes())
          .filter((i) => i.unique).map((i) => i.key);
        expect(await unique('images')).toEqual([{ sourceUrl: 1 }]);
        expect(await unique('task_images')).toEqual([{ taskId: 1, position: 1 }]);
      } finally {
        await dispose(first, second);
      }
    });

    it('refuses a second image with the same source URL', async () => {
      const store = await openFresh();
      try {
        const db = (await adminConn()).useDb(dbNames.get(store)!, { useCache: false }).db!;
        const u = 'https://example.test/dup.png';
        await store.claimImage(u, { taskId: 't', staleAfterMs: 1 });
        await expect(db.collection<{ _id: string; sourceUrl: string; status: string; updatedAt: Date; rev: number }>('images').insertOne({ _id: 'other', sourceUrl: u, status: 'failed', updatedAt: new Date(), rev: 0 }))
          .rejects.toMatchObject({ code: 11000 });
        expect(imageIdFor(u)).toMatch(/^[0-9a-f]{32}$/);
      } finally {
        await dispose(store);
      }
    });

    it('rejects a limit out of range', async () => {
      const store = await openFresh();
      try {
        await expect(store.listTasks({ kind: 'text', limit: 0 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.listTasks({ kind: 'text', limit: 1001 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.listTaskImages('x', { limit: 1001 })).rejects.toBeInstanceOf(RangeError);
      } finally {
        await dispose(store);
      }
    });

    it('fails to open an unreachable server within its timeout', async () => {
      await expect(openMongoTaskStore('mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300')).rejects.toThrow();
    });
  });
});
