/**
 * The TaskStore contract, run against every adapter. Uses the port only.
 * `open` must give an empty store (a fresh file or database) for each test; `cleanup` then disposes of it
 * (it should close the store); without `cleanup` the suite just closes it.
 */
import { randomUUID } from 'node:crypto';
import { InvalidCursorError } from '../../src/models/task-store.js';
import type { TaskStore } from '../../src/models/task-store.js';
import type { StoredFile, Task, TaskKind } from '../../src/models/task.js';
import { imageIdFor } from '../../src/models/task-rules.js';
import { eachStore } from './store-lifecycle.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function fileFor(n: number): StoredFile {
  const sha256 = n.toString(16).padStart(64, '0');
  return { sha256, key: `images/${sha256.slice(0, 2)}/${sha256}.png`, mime: 'image/png', bytes: 100 + n, width: 10, height: 20 };
}

export function describeTaskStoreContract(
  name: string,
  open: () => Promise<TaskStore>,
  cleanup?: (store: TaskStore) => Promise<void>,
): void {
  describe(`TaskStore contract: ${name}`, () => {
    let store: TaskStore;
    /** A URL no other test uses, so a shared image table cannot leak between tests. */
    const uniqueUrl = (label = 'img') => `https://example.test/${label}/${randomUUID()}.png`;
    const newTask = (kind: TaskKind = 'images', url = uniqueUrl('page'), refresh = false) =>
      store.createTask({ kind, url, refresh });
    const claim = (url: string, taskId: string, extra: { refreshStoredBefore?: string; staleAfterMs?: number } = {}) =>
      store.claimImage(url, { taskId, staleAfterMs: extra.staleAfterMs ?? 60_000, refreshStoredBefore: extra.refreshStoredBefore });

    eachStore(open, cleanup, (s) => (store = s));

    describe('tasks', () => {
      it('keeps an images task\'s options', async () => {
        const options = { filters: { minWidth: 100, minHeight: 50, maxAspectRatio: 3, mimeTypes: ['image/png'] }, resize: { maxSide: 512, format: 'webp' as const } };
        const created = await store.createTask({ kind: 'images', url: 'https://example.test/o', refresh: false, options });
        expect(created.options).toEqual(options);
        expect((await store.getTask(created.id))?.options).toEqual(options);
        expect((await store.listTasks({ kind: 'images', limit: 5 })).items.find((t) => t.id === created.id)?.options).toEqual(options);
      });

      it('creates a queued task and gets it back', async () => {
        const created = await store.createTask({ kind: 'text', url: 'https://example.test/a', refresh: true });
        expect(created).toMatchObject({
          kind: 'text', url: 'https://example.test/a', status: 'queued', refresh: true, attempts: 0,
        });
        expect(created.id).toMatch(/^[A-Za-z0-9_-]{16,}$/);
        expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
        expect(created.counts).toBeUndefined();
        expect(await store.getTask(created.id)).toEqual(created);
      });

      it('reads a task\'s head as getTask has it, for a store that offers it', async () => {
        // Optional in the port; every adapter here has it.
        const getTaskHead = store.getTaskHead!.bind(store);
        expect(await getTaskHead('nope')).toBeNull();
        const owned = await store.createTask({ kind: 'images', url: 'https://example.test/h', refresh: false, owner: 'key-1' });
        const headOf = (t: Task) => ({ id: t.id, kind: t.kind, status: t.status, attempts: t.attempts, updatedAt: t.updatedAt, owner: t.owner });
        expect(await getTaskHead(owned.id)).toEqual(headOf(owned));
        await store.startTask(owned.id);
        const failed = await store.finishTask(owned.id, { status: 'failed', error: { code: 'timeout', message: 'slow' } });
        expect(await getTaskHead(owned.id)).toEqual(headOf(failed!));
        const anonymous = await newTask('text');
        expect(await getTaskHead(anonymous.id)).not.toHaveProperty('owner');
      });

      it('keeps whether a task has a webhook of its own, so a worker starting it need not look one up', async () => {
        const hooked = await store.createTask({ kind: 'text', url: 'https://example.test/w', refresh: false, hasWebhook: true });
        const plain = await store.createTask({ kind: 'images', url: 'https://example.test/w', refresh: false });
        expect(hooked.hasWebhook).toBe(true);
        expect(plain.hasWebhook).toBe(false);
        expect((await store.startTask(hooked.id))?.hasWebhook).toBe(true);
        expect((await store.startTask(plain.id))?.hasWebhook).toBe(false);
        expect((await store.getTask(hooked.id))?.hasWebhook).toBe(true);
        expect((await store.finishTask(hooked.id, { status: 'succeeded' }))?.hasWebhook).toBe(true);
        expect((await store.listTasks({ kind: 'images', limit: 10 })).items.find((t) => t.id === plain.id)?.hasWebhook).toBe(false);
      });

      it('gives distinct ids', async () => {
        const ids = new Set<string>();
        for (let i = 0; i < 20; i++) ids.add((await newTask('text')).id);
        expect(ids.size).toBe(20);
      });

      it('answers null for an unknown id', async () => {
        expect(await store.getTask('nope')).toBeNull();
        expect(await store.getTask(randomUUID())).toBeNull();
        expect(await store.startTask(randomUUID())).toBeNull();
        expect(await store.finishTask(randomUUID(), { status: 'succeeded' })).toBeNull();
        expect(await store.getText(randomUUID())).toBeNull();
      });

      it('lists newest first, filtered by kind and status', async () => {
        const t1 = await newTask('text');
        await sleep(3);
        const i1 = await newTask('images');
        await sleep(3);
        const t2 = await newTask('text');
        await sleep(3);
        const t3 = await newTask('text');
        await store.startTask(t2.id);

        const texts = await store.listTasks({ kind: 'text', limit: 100 });
        expect(texts.items.map((t) => t.id)).toEqual([t3.id, t2.id, t1.id]);
        expect(texts.nextCursor).toBeUndefined();

        const images = await store.listTasks({ kind: 'images', limit: 100 });
        expect(images.items.map((t) => t.id)).toEqual([i1.id]);
        expect(images.items[0]?.counts).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });

        const queued = await store.listTasks({ kind: 'text', status: 'queued', limit: 100 });
        expect(queued.items.map((t) => t.id)).toEqual([t3.id, t1.id]);
        const running = await store.listTasks({ kind: 'text', status: 'running', limit: 100 });
        expect(running.items.map((t) => t.id)).toEqual([t2.id]);
        expect(await store.listTasks({ kind: 'images', status: 'succeeded', limit: 100 })).toEqual({ items: [] });
      });

      it('pages through 25 tasks by 10 with no duplicates or omissions', async () => {
        const created: Task[] = [];
        for (let i = 0; i < 25; i++) created.push(await newTask('text', `https://example.test/p/${i}`));

        const seen: Task[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listTasks({ kind: 'text', limit: 10, cursor });
          sizes.push(page.items.length);
          seen.push(...page.items);
          cursor = page.nextCursor;
          expect(sizes.length).toBeLessThan(10);
        } while (cursor);

        expect(sizes).toEqual([10, 10, 5]);
        expect(new Set(seen.map((t) => t.id)).size).toBe(25);
        expect(new Set(seen.map((t) => t.id))).toEqual(new Set(created.map((t) => t.id)));
        for (let i = 1; i < seen.length; i++) {
          expect(seen[i - 1]!.createdAt >= seen[i]!.createdAt).toBe(true);
        }
      });

      it('gives no nextCursor when a page ends exactly at the last task', async () => {
        for (let i = 0; i < 4; i++) await newTask('text');
        const first = await store.listTasks({ kind: 'text', limit: 2 });
        expect(first.items).toHaveLength(2);
        expect(first.nextCursor).toBeDefined();
        const second = await store.listTasks({ kind: 'text', limit: 2, cursor: first.nextCursor });
        expect(second.items).toHaveLength(2);
        expect(second.nextCursor).toBeUndefined();
      });

      it('pages with a status filter', async () => {
        for (let i = 0; i < 5; i++) await newTask('images');
        const running = await newTask('images');
        await store.startTask(running.id);
        const p1 = await store.listTasks({ kind: 'images', status: 'queued', limit: 3 });
        const p2 = await store.listTasks({ kind: 'images', status: 'queued', limit: 3, cursor: p1.nextCursor });
        expect(p1.items).toHaveLength(3);
        expect(p2.items).toHaveLength(2);
        expect(p2.nextCursor).toBeUndefined();
        expect([...p1.items, ...p2.items].every((t) => t.status === 'queued')).toBe(true);
      });

      it('rejects an unreadable cursor with InvalidCursorError', async () => {
        await newTask('text');
        const bad = ['garbage!!', 'abc', Buffer.from('{"x":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), ''];
        for (const cursor of bad) {
          await expect(store.listTasks({ kind: 'text', limit: 10, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
        }
      });

      it('lists unfinished tasks oldest first', async () => {
        const a = await newTask('text');
        await sleep(3);
        const b = await newTask('images');
        await sleep(3);
        const c = await newTask('text');
        await sleep(3);
        const d = await newTask('text');
        await store.startTask(b.id);
        await store.startTask(c.id);
        await store.finishTask(c.id, { status: 'succeeded' });
        await store.finishTask(d.id, { status: 'failed', error: { code: 'cancelled', message: 'x' } });

        expect((await store.listUnfinished()).map((t) => t.id)).toEqual([a.id, b.id]);
        expect((await store.listUnfinished('text')).map((t) => t.id)).toEqual([a.id]);
        const images = await store.listUnfinished('images');
        expect(images.map((t) => t.id)).toEqual([b.id]);
        expect(images[0]?.status).toBe('running');
      });
    });

    describe('lifecycle', () => {
      it('starts, then finishes succeeded with page info', async () => {
        const task = await newTask('text');
        const started = await store.startTask(task.id);
        expect(started).toMatchObject({ id: task.id, status: 'running', attempts: 1 });
        expect(started?.startedAt).toBeDefined();
        expect(started?.finishedAt).toBeUndefined();

        const page = { finalUrl: 'https://example.test/final', httpStatus: 200, contentType: 'text/html', title: 'T', bytes: 1234, textLength: 99 };
        const finished = await store.finishTask(task.id, { status: 'succeeded', page });
        expect(finished).toMatchObject({ id: task.id, status: 'succeeded', attempts: 1, page });
        expect(finished?.finishedAt).toBeDefined();
        expect(finished?.error).toBeUndefined();
        expect(await store.getTask(task.id)).toEqual(finished);
      });

      it('keeps the format of a text task, and page metadata, SimHash and rights through finishing', async () => {
        const task = await store.createTask({ kind: 'text', url: uniqueUrl('page'), refresh: false, format: 'markdown' });
        expect(task.format).toBe('markdown');
        expect((await store.getTask(task.id))?.format).toBe('markdown');
        await store.startTask(task.id);
        const metadata = {
          title: 'Ein Titel', description: 'd', author: 'A. Author', published: '2024-05-01T10:00:00.000Z', canonicalUrl: 'https://example.test/a',
          siteName: 'Example', license: 'https://creativecommons.org/licenses/by/4.0/', language: 'de', wordCount: 321,
        };
        const rights = { verdict: 'reserved' as const, signals: [{ signal: 'meta-robots' as const, where: '<meta name="robots"> of https://example.test/a', value: 'noai', effect: 'reserved' as const, note: 'n' }] };
        const page = { finalUrl: 'https://example.test/a', httpStatus: 200, bytes: 10, textLength: 5, metadata, simhash: '0123456789abcdef', rights };
        await store.finishTask(task.id, { status: 'succeeded', page });
        const got = await store.getTask(task.id);
        expect(got).toMatchObject({ format: 'markdown', page: { metadata, simhash: '0123456789abcdef', rights } });
        const listed = await store.listTasks({ kind: 'text', limit: 100 });
        expect(listed.items.find((t) => t.id === task.id)).toMatchObject({ format: 'markdown', page: { metadata } });
        // A task created without a format has none (the API reads that as "text").
        expect((await newTask('text')).format).toBeUndefined();
      });

      it('finishes failed with an error', async () => {
        const task = await newTask('images');
        await store.startTask(task.id);
        const error = { code: 'http_error', message: 'Not Found', httpStatus: 404 };
        const finished = await store.finishTask(task.id, { status: 'failed', error });
        expect(finished).toMatchObject({ status: 'failed', error });
        expect((await store.getTask(task.id))?.error).toEqual(error);
      });

      it('counts attempts when a running task is started again', async () => {
        const task = await newTask('text');
        await store.startTask(task.id);
        await store.startTask(task.id);
        const third = await store.startTask(task.id);
        expect(third).toMatchObject({ status: 'running', attempts: 3 });
      });

      it('refuses to start a final task', async () => {
        const task = await newTask('text');
        await store.startTask(task.id);
        await store.finishTask(task.id, { status: 'succeeded' });
        expect(await store.startTask(task.id)).toBeNull();
        expect((await store.getTask(task.id))?.attempts).toBe(1);
      });

      it('makes finishing a final task a no-op', async () => {
        const task = await newTask('text');
        await store.startTask(task.id);
        const page = { finalUrl: 'https://example.test/', httpStatus: 200, bytes: 1 };
        const first = await store.finishTask(task.id, { status: 'succeeded', page });
        await sleep(3);
        const again = await store.finishTask(task.id, { status: 'failed', error: { code: 'late', message: 'late' } });
        expect(again).toEqual(first);
        expect(await store.getTask(task.id)).toEqual(first);
      });
    });

    describe('leases, attempts and dispatch receipts', () => {
      const lease = (owner: string, ms = 60_000) => ({ owner, ms });

      it('starts a task under a lease that only its holder renews, and refuses a second worker while it is live', async () => {
        const task = await newTask('text');
        const started = await store.startTask(task.id, lease('w1'));
        expect(started).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1' } });
        expect(Date.parse(started!.lease!.until)).toBeGreaterThan(Date.now() + 50_000);
        // A second worker (a duplicate delivery) sees the holder's lease and changes nothing.
        const other = await store.startTask(task.id, lease('w2'));
        expect(other).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1' } });
        expect(await store.renewLease(task.id, lease('w2'))).toBe(false);
        expect(await store.renewLease(task.id, lease('w1', 120_000))).toBe(true);
        expect(Date.parse((await store.getTask(task.id))!.lease!.until)).toBeGreaterThan(Date.now() + 100_000);
      });

      // Writes that come together may share a command (MongoDB's TaskWrites): each caller still gets its own answer.
      it('answers concurrent creates each with its own stored task', async () => {
        const created = await Promise.all(Array.from({ length: 40 }, (_, i) => newTask(i % 2 ? 'text' : 'images', `https://example.test/many/${i}`)));
        expect(new Set(created.map((t) => t.id)).size).toBe(40);
        created.forEach((t, i) => expect(t).toMatchObject({ url: `https://example.test/many/${i}`, status: 'queued', attempts: 0 }));
        for (const t of created) expect(await store.getTask(t.id)).toEqual(t);
      });

      it('decides concurrent transitions of different tasks each on its own task, as one by one', async () => {
        const tasks = await Promise.all(Array.from({ length: 6 }, () => newTask('text')));
        const ids = tasks.map((t) => t.id);
        // Two workers start the first task at once: exactly one holds it; the others start as usual.
        const starts = await Promise.all([
          store.startTask(ids[0]!, lease('w1')), store.startTask(ids[0]!, lease('w2')),
          ...ids.slice(1).map((id) => store.startTask(id, lease('w1'))),
          store.startTask('no-such-task', lease('w1')),
        ]);
        const holders = starts.slice(0, 2).map((t) => t?.lease?.owner);
        expect(holders[0]).toBe(holders[1]);
        expect(starts.slice(0, 2).every((t) => t?.attempts === 1)).toBe(true);
        const holder = holders[0]!;
        expect(starts.slice(2, 7).map((t) => [t?.status, t?.lease?.owner])).toEqual(ids.slice(1).map(() => ['running', 'w1']));
        expect(starts[7]).toBeNull();
        const [done, failed, notYours, released, renewed, unknown] = await Promise.all([
          store.finishTask(ids[0]!, { status: 'succeeded' }, holder),
          store.finishTask(ids[1]!, { status: 'failed', error: { code: 'http_status', message: '404' } }, 'w1'),
          store.finishTask(ids[2]!, { status: 'succeeded' }, 'w-other'),
          store.releaseTask(ids[3]!, 'w1', { code: 'internal', message: 'crash' }),
          store.renewLease(ids[4]!, lease('w1', 120_000)),
          store.finishTask('no-such-task', { status: 'succeeded' }),
        ]);
        expect(done).toMatchObject({ id: ids[0], status: 'succeeded' });
        expect(failed).toMatchObject({ id: ids[1], status: 'failed', error: { code: 'http_status' } });
        expect(notYours).toMatchObject({ id: ids[2], status: 'running', lease: { owner: 'w1' } });
        expect(released).toBe(true);
        expect(renewed).toBe(true);
        expect(unknown).toBeNull();
        expect(await store.getTask(ids[3]!)).toMatchObject({ status: 'queued', error: { code: 'internal' } });
        expect(Date.parse((await store.getTask(ids[4]!))!.lease!.until)).toBeGreaterThan(Date.now() + 100_000);
        expect(await store.getTask(ids[5]!)).toMatchObject({ status: 'running', lease: { owner: 'w1' } });
      });

      it('lets another worker take over a task whose lease ran out; the old holder can then neither renew nor finish it', async () => {
        const task = await newTask('text');
        await store.startTask(task.id, lease('dead', 1));
        await sleep(10);
        const taken = await store.startTask(task.id, lease('w2'));
        expect(taken).toMatchObject({ status: 'running', attempts: 2, lease: { owner: 'w2' } });
        expect(await store.renewLease(task.id, lease('dead'))).toBe(false);
        const late = await store.finishTask(task.id, { status: 'succeeded' }, 'dead');
        expect(late).toMatchObject({ status: 'running' });
        const done = await store.finishTask(task.id, { status: 'succeeded' }, 'w2');
        expect(done?.status).toBe('succeeded');
        expect(done?.lease).toBeUndefined();
        expect(await store.renewLease(task.id, lease('w2'))).toBe(false);
      });

      it('releases a running task back to queued with the failure of its attempt, for the holder only', async () => {
        const task = await newTask('text');
        await store.startTask(task.id, lease('w1'));
        const error = { code: 'internal', message: 'store timed out' };
        expect(await store.releaseTask(task.id, 'w2', error)).toBe(false);
        expect(await store.releaseTask(task.id, 'w1', error)).toBe(true);
        const released = await store.getTask(task.id);
        expect(released).toMatchObject({ status: 'queued', attempts: 1, error });
        expect(released?.lease).toBeUndefined();
        expect(await store.startTask(task.id, lease('w2'))).toMatchObject({ status: 'running', attempts: 2 });
      });

      it('restarts a task that gave up only when asked to (a replayed dead letter)', async () => {
        const task = await newTask('text');
        await store.startTask(task.id, lease('w1'));
        await store.finishTask(task.id, { status: 'failed', error: { code: 'attempts_exhausted', message: 'gave up' } }, 'w1');
        expect(await store.startTask(task.id, lease('w1'))).toBeNull();
        const reopened = await store.startTask(task.id, { ...lease('w1'), reopenExhausted: true });
        expect(reopened).toMatchObject({ status: 'running', attempts: 1 });
        expect(reopened?.error).toBeUndefined();
        expect(reopened?.finishedAt).toBeUndefined();
        const other = await newTask('text');
        await store.finishTask(other.id, { status: 'failed', error: { code: 'http_error', message: '404' } });
        expect(await store.startTask(other.id, { ...lease('w1'), reopenExhausted: true })).toBeNull();
      });

      it('starts a page\'s tasks together, each as startTask would, and tells a later link run from a first one', async () => {
        const text = await newTask('text');
        const images = await newTask('images');
        const started = await store.startTasks([text.id, images.id, 'no-such-task'], lease('w1'));
        expect([...started.keys()]).toEqual([text.id, images.id, 'no-such-task']);
        expect(started.get(text.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1' } });
        expect(started.get(text.id)?.dispatchPendingSince).toBeUndefined();
        expect(started.get(images.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1' }, counts: { found: 0 } });
        expect(started.get('no-such-task')).toBeNull();
        expect(await store.getTask(text.id)).toEqual(started.get(text.id));
        expect(await store.getTask(images.id)).toEqual(started.get(images.id));
        // A second worker's batch changes nothing while the lease is live; a finished mate is null, as startTask has it.
        await store.finishTask(text.id, { status: 'succeeded' }, 'w1');
        const again = await store.startTasks([text.id, images.id], lease('w2'));
        expect(again.get(text.id)).toBeNull();
        expect(again.get(images.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1' } });
        // A later run of a task with links starts with their counts (the runner clears them by these).
        const url = uniqueUrl();
        const claimed = await claim(url, images.id);
        await store.linkImage({ taskId: images.id, position: 0, sourceUrl: url, imageId: claimed.image.id, outcome: 'failed' });
        await store.releaseTask(images.id, 'w1', { code: 'internal', message: 'crashed' });
        const other = await newTask('text');
        const rerun = await store.startTasks([images.id, other.id], lease('w2'));
        expect(rerun.get(images.id)).toMatchObject({ status: 'running', attempts: 2, lease: { owner: 'w2' }, counts: { found: 1, failed: 1 } });
        expect(rerun.get(other.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w2' } });
      });

      it('starts each of a page\'s tasks on its own merits: a final or held one leaves the others to start', async () => {
        const held = await newTask('text');
        const mate = await newTask('images');
        await store.startTask(held.id, lease('w1'));
        // Another live worker's task is returned with its holder's lease, unchanged; its page-mate starts.
        const mixed = await store.startTasks([held.id, mate.id], lease('w2'));
        expect(mixed.get(held.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1' } });
        expect(mixed.get(mate.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w2' } });
        // A final one is null; the queued page-mate after it still starts.
        const done = await newTask('text');
        const queued = await newTask('images');
        await store.finishTask(done.id, { status: 'failed', error: { code: 'http_error', message: '404' } });
        const after = await store.startTasks([done.id, queued.id], lease('w2'));
        expect(after.get(done.id)).toBeNull();
        expect(after.get(queued.id)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w2' } });
      });

      it('hands each undispatched queued task to one sweeper at a time, and never one whose dispatch was confirmed', async () => {
        const confirmed = await newTask('text');
        const lost = await newTask('text');
        const started = await newTask('text');
        expect(lost.dispatchPendingSince).toBe(lost.createdAt);
        await store.markDispatched([confirmed.id]);
        expect((await store.getTask(confirmed.id))?.dispatchPendingSince).toBeUndefined();
        await store.startTask(started.id, lease('w1'));
        await store.finishTask(started.id, { status: 'succeeded' }, 'w1');
        expect(await store.takeUndispatched({ olderThanMs: 60_000, limit: 10 })).toEqual([]);
        const window = 1_000; // wide enough for a slow server to answer several calls within it
        await sleep(window + 50);
        const [first, second] = await Promise.all([
          store.takeUndispatched({ olderThanMs: window, limit: 10 }),
          store.takeUndispatched({ olderThanMs: window, limit: 10 }),
        ]);
        expect([...first!, ...second!].map((t) => t.id)).toEqual([lost.id]);
        // Its clock restarted: not again until the window has passed once more (the first sweeper may have died).
        expect(await store.takeUndispatched({ olderThanMs: window, limit: 10 })).toEqual([]);
        await sleep(window + 50);
        expect((await store.takeUndispatched({ olderThanMs: window, limit: 10 })).map((t) => t.id)).toEqual([lost.id]);
        await store.markDispatched([lost.id, 'no-such-task']);
        await sleep(30);
        expect(await store.takeUndispatched({ olderThanMs: 20, limit: 10 })).toEqual([]);
      });
    });

    describe('text', () => {
      it('saves and reads back unicode text, overwriting', async () => {
        const task = await newTask('text');
        expect(await store.getText(task.id)).toBeNull();
        await store.saveText(task.id, 'first');
        const text = 'Grüße, 世界! 🙂 — “quotes” \u0000 nul and \r\n newlines';
        await store.saveText(task.id, text);
        expect(await store.getText(task.id)).toBe(text);
      });

      it('keeps an empty text apart from no text', async () => {
        const task = await newTask('text');
        await store.saveText(task.id, '');
        expect(await store.getText(task.id)).toBe('');
      });

      it('holds a 1 MB text', async () => {
        const task = await newTask('text');
        const text = 'abcdé🙂\n'.repeat(1024 * 1024 / 8);
        await store.saveText(task.id, text);
        const back = await store.getText(task.id);
        expect(back?.length).toBe(text.length);
        expect(back === text).toBe(true);
      });
    });

    describe('images', () => {
      it('claims a new URL, and tells another task it is in progress', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const url = uniqueUrl();
        const first = await claim(url, a.id);
        expect(first.outcome).toBe('claimed');
        expect(first.image).toMatchObject({ sourceUrl: url, status: 'pending', ownerTaskId: a.id });
        expect(first.image.claimedAt).toBeDefined();

        const second = await claim(url, b.id);
        expect(second.outcome).toBe('in_progress');
        expect(second.image).toMatchObject({ id: first.image.id, status: 'pending', ownerTaskId: a.id });
        expect(await store.getImage(first.image.id)).toEqual(second.image);
      });

      it('gives a task back its own pending claim (a redelivered task)', async () => {
        const a = await newTask();
        const url = uniqueUrl();
        const first = await claim(url, a.id);
        const again = await claim(url, a.id);
        expect(again.outcome).toBe('claimed');
        expect(again.image.id).toBe(first.image.id);
      });

      it('reports a stored image as stored to everyone', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const url = uniqueUrl();
        const { image } = await claim(url, a.id);
        const file = fileFor(1);
        const done = await store.completeImage(image.id, a.id, { status: 'stored', file });
        expect(done).toMatchObject({ id: image.id, status: 'stored', file });
        expect(done.ownerTaskId).toBeUndefined();
        expect(done.error).toBeUndefined();

        for (const taskId of [a.id, b.id]) {
          const again = await claim(url, taskId);
          expect(again.outcome).toBe('stored');
          expect(again.image).toMatchObject({ id: image.id, status: 'stored', file });
        }
        expect(await store.getImage(image.id)).toMatchObject({ status: 'stored', file });
      });

      it('lets a failed image be claimed again (retry)', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const url = uniqueUrl();
        const { image } = await claim(url, a.id);
        const error = { code: 'timeout', message: 'too slow' };
        const failed = await store.completeImage(image.id, a.id, { status: 'failed', error });
        expect(failed).toMatchObject({ status: 'failed', error });

        const retry = await claim(url, b.id);
        expect(retry.outcome).toBe('claimed');
        expect(retry.image).toMatchObject({ id: image.id, status: 'pending', ownerTaskId: b.id });
        expect(retry.image.error).toBeUndefined();
        // The first owner lost it.
        expect(await store.completeImage(image.id, a.id, { status: 'stored', file: fileFor(2) })).toEqual(retry.image);
      });

      it('takes over a stale pending claim', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const url = uniqueUrl();
        const { image } = await claim(url, a.id);
        expect((await claim(url, b.id, { staleAfterMs: 60_000 })).outcome).toBe('in_progress');
        await sleep(20);
        const taken = await claim(url, b.id, { staleAfterMs: 5 });
        expect(taken.outcome).toBe('claimed');
        expect(taken.image).toMatchObject({ id: image.id, ownerTaskId: b.id, status: 'pending' });
        // The old owner can no longer complete it; the new one can.
        const stale = await store.completeImage(image.id, a.id, { status: 'stored', file: fileFor(3) });
        expect(stale).toMatchObject({ status: 'pending', ownerTaskId: b.id });
        expect(await store.completeImage(image.id, b.id, { status: 'stored', file: fileFor(4) })).toMatchObject({
          status: 'stored', file: fileFor(4),
        });
      });

      it('re-claims a stored image only when stored before refreshStoredBefore', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const url = uniqueUrl();
        const { image } = await claim(url, a.id);
        await store.completeImage(image.id, a.id, { status: 'stored', file: fileFor(5) });

        const older = await claim(url, b.id, { refreshStoredBefore: '2000-01-01T00:00:00.000Z' });
        expect(older.outcome).toBe('stored');

        await sleep(5);
        const refresh = await claim(url, b.id, { refreshStoredBefore: new Date().toISOString() });
        expect(refresh.outcome).toBe('claimed');
        expect(refresh.image).toMatchObject({ id: image.id, status: 'pending', ownerTaskId: b.id });
        // Others now wait for the refresh.
        expect((await claim(url, a.id)).outcome).toBe('in_progress');
        const done = await store.completeImage(image.id, b.id, { status: 'stored', file: fileFor(6) });
        expect(done.file).toEqual(fileFor(6));
      });

      it('gives exactly one of 50 concurrent claims', async () => {
        const tasks = await Promise.all(Array.from({ length: 50 }, () => newTask()));
        const url = uniqueUrl();
        const results = await Promise.all(tasks.map((t) => claim(url, t.id)));
        const claimed = results.filter((r) => r.outcome === 'claimed');
        expect(claimed).toHaveLength(1);
        expect(results.filter((r) => r.outcome === 'in_progress')).toHaveLength(49);
        expect(new Set(results.map((r) => r.image.id)).size).toBe(1);
        const owner = claimed[0]!.image.ownerTaskId;
        expect(results.every((r) => r.image.ownerTaskId === owner)).toBe(true);
      });

      it('claims different URLs independently', async () => {
        const a = await newTask();
        const results = await Promise.all(Array.from({ length: 10 }, () => claim(uniqueUrl(), a.id)));
        expect(results.every((r) => r.outcome === 'claimed')).toBe(true);
        expect(new Set(results.map((r) => r.image.id)).size).toBe(10);
      });

      it('leaves a claim unchanged when someone else completes it', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const { image } = await claim(uniqueUrl(), a.id);
        const after = await store.completeImage(image.id, b.id, { status: 'stored', file: fileFor(7) });
        expect(after).toEqual(image);
        expect(await store.getImage(image.id)).toEqual(image);
      });

      it('leaves a stored image unchanged when completed again', async () => {
        const a = await newTask();
        const { image } = await claim(uniqueUrl(), a.id);
        const stored = await store.completeImage(image.id, a.id, { status: 'stored', file: fileFor(8) });
        const again = await store.completeImage(image.id, a.id, { status: 'failed', error: { code: 'x', message: 'x' } });
        expect(again).toEqual(stored);
      });

      it('answers null for an unknown image', async () => {
        expect(await store.getImage(randomUUID())).toBeNull();
        await expect(store.releaseImage(randomUUID(), randomUUID())).rejects.toThrow();
      });

      it('lets the owner release a pending claim, which the next claim takes at once', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const url = uniqueUrl();
        const { image } = await claim(url, a.id);
        // Only the owner can release it.
        expect(await store.releaseImage(image.id, b.id)).toEqual(image);
        const released = await store.releaseImage(image.id, a.id);
        expect(released).toMatchObject({ id: image.id, status: 'pending' });
        expect(released.ownerTaskId).toBeUndefined();
        expect(released.claimedAt).toBeUndefined();
        expect(await store.getImage(image.id)).toEqual(released);
        // Long before any claim would go stale.
        const retry = await claim(url, b.id, { staleAfterMs: 3_600_000 });
        expect(retry.outcome).toBe('claimed');
        expect(retry.image).toMatchObject({ id: image.id, status: 'pending', ownerTaskId: b.id });
        // The first owner has nothing left to release or complete.
        expect(await store.releaseImage(image.id, a.id)).toEqual(retry.image);
      });

      it('leaves a stored image unchanged when released', async () => {
        const a = await newTask();
        const { image } = await claim(uniqueUrl(), a.id);
        const stored = await store.completeImage(image.id, a.id, { status: 'stored', file: fileFor(9) });
        expect(await store.releaseImage(image.id, a.id)).toEqual(stored);
      });
    });

    describe('images in batches (one page at a time)', () => {
      it('names an image by its source URL, the same id in every store', async () => {
        const task = await newTask();
        const url = 'https://example.test/fixed/name.png';
        const { image } = await claim(url, task.id);
        expect(image.id).toBe(imageIdFor(url));
        expect(imageIdFor(url)).toMatch(/^[0-9a-f]{32}$/);
      });

      it('claims a page of images in one call with the same answers as one by one', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const [fresh, mine, theirs, stored, failed] = [uniqueUrl(), uniqueUrl(), uniqueUrl(), uniqueUrl(), uniqueUrl()];
        await claim(mine, a.id);
        await claim(theirs, b.id);
        const { image: s } = await claim(stored, b.id);
        await store.completeImage(s.id, b.id, { status: 'stored', file: fileFor(3) });
        const { image: f } = await claim(failed, b.id);
        await store.completeImage(f.id, b.id, { status: 'failed', error: { code: 'timeout', message: 't' } });

        const results = await store.claimImages([fresh, mine, theirs, stored, failed, fresh], { taskId: a.id, staleAfterMs: 60_000 });
        expect(results.map((r) => r.outcome)).toEqual(['claimed', 'claimed', 'in_progress', 'stored', 'claimed', 'claimed']);
        expect(results.map((r) => r.image.sourceUrl)).toEqual([fresh, mine, theirs, stored, failed, fresh]);
        expect(results[0]!.image).toMatchObject({ id: imageIdFor(fresh), status: 'pending', ownerTaskId: a.id });
        expect(results[2]!.image.ownerTaskId).toBe(b.id);
        expect(results[3]!.image.file).toEqual(fileFor(3));
        expect(results[4]!.image).toMatchObject({ status: 'pending', ownerTaskId: a.id });
        expect(results[4]!.image.error).toBeUndefined();
        expect(await store.getImage(results[4]!.image.id)).toEqual(results[4]!.image);
        expect(await store.claimImages([], { taskId: a.id, staleAfterMs: 60_000 })).toEqual([]);
      });

      it('completes and links a page of images in one call, skipping the links of claims it no longer holds', async () => {
        const [a, b] = [await newTask(), await newTask()];
        const urls = [uniqueUrl(), uniqueUrl(), uniqueUrl(), uniqueUrl()];
        const claims = await store.claimImages(urls.slice(0, 3), { taskId: a.id, staleAfterMs: 60_000 });
        // b takes over the third claim (stale for it), so a's completion of it must not apply.
        await sleep(5);
        expect((await claim(urls[2]!, b.id, { staleAfterMs: 0 })).outcome).toBe('claimed');
        const { image: reused } = await claim(urls[3]!, b.id);
        await store.completeImage(reused.id, b.id, { status: 'stored', file: fileFor(8) });
        const error = { code: 'http_error', message: '404' };
        const link = (i: number, outcome: 'stored' | 'failed' | 'reused', imageId = claims[i]?.image.id ?? reused.id) =>
          ({ taskId: a.id, position: i, sourceUrl: urls[i]!, imageId, outcome, ...(outcome === 'failed' ? { error } : {}) });

        const settled = await store.settleImages([
          { link: link(0, 'stored'), completion: { status: 'stored', file: fileFor(5) } },
          { link: link(1, 'failed'), completion: { status: 'failed', error } },
          { link: link(2, 'stored'), completion: { status: 'stored', file: fileFor(6) } },
          { link: link(3, 'reused') },
        ]);
        expect(settled.map((r) => r.linked)).toEqual([true, true, false, true]);
        expect(settled[0]!.image).toMatchObject({ status: 'stored', file: fileFor(5) });
        expect(settled[0]!.image?.ownerTaskId).toBeUndefined();
        expect(settled[1]!.image).toMatchObject({ status: 'failed', error });
        expect(settled[2]!.image).toMatchObject({ status: 'pending', ownerTaskId: b.id });
        expect(await store.getImage(claims[0]!.image.id)).toEqual(settled[0]!.image);

        expect((await store.listTaskImages(a.id, { limit: 10 })).items.map((i) => [i.position, i.outcome, i.file?.sha256])).toEqual([
          [0, 'stored', fileFor(5).sha256], [1, 'failed', undefined], [3, 'reused', fileFor(8).sha256],
        ]);
        expect(await store.imageCounts(a.id)).toEqual({ found: 3, stored: 1, reused: 1, failed: 1, skipped: 0 });
        // Settling again is idempotent for the links and leaves completed images alone.
        const again = await store.settleImages([{ link: link(0, 'stored'), completion: { status: 'stored', file: fileFor(7) } }, { link: link(3, 'reused') }]);
        expect(again.map((r) => r.linked)).toEqual([false, true]);
        expect((await store.getImage(claims[0]!.image.id))?.file).toEqual(fileFor(5));
        expect(await store.imageCounts(a.id)).toEqual({ found: 3, stored: 1, reused: 1, failed: 1, skipped: 0 });
      });
    });

    describe('task images', () => {
      /** Claims and stores an image, returning its id. */
      async function storedImage(taskId: string, url: string, n: number): Promise<string> {
        const { image } = await claim(url, taskId);
        await store.completeImage(image.id, taskId, { status: 'stored', file: fileFor(n) });
        return image.id;
      }

      const TOO_LARGE = { code: 'too_large', message: 'over the limit' };
      /** Claims an image and fails it as too large, returning its id. */
      async function failedImage(taskId: string, url: string): Promise<string> {
        const { image } = await claim(url, taskId);
        await store.completeImage(image.id, taskId, { status: 'failed', error: TOO_LARGE });
        return image.id;
      }

      it('links images, lists them in order with files, and counts them', async () => {
        const task = await newTask();
        const other = await newTask();
        // Links are written by a task's runs (a task never started counts none: mayHaveLinks).
        await store.startTask(task.id);
        await store.startTask(other.id);
        const urls = [uniqueUrl(), uniqueUrl(), uniqueUrl()];
        const stored = await storedImage(task.id, urls[0]!, 10);
        const reused = await storedImage(other.id, urls[1]!, 11);
        const failing = await failedImage(task.id, urls[2]!);

        // Linked out of order on purpose.
        await store.linkImage({ taskId: task.id, position: 2, sourceUrl: urls[2]!, imageId: failing, outcome: 'failed', error: TOO_LARGE });
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: stored, outcome: 'stored' });
        await store.linkImage({ taskId: task.id, position: 1, sourceUrl: urls[1]!, imageId: reused, outcome: 'reused' });

        const page = await store.listTaskImages(task.id, { limit: 10 });
        expect(page.nextCursor).toBeUndefined();
        expect(page.items).toEqual([
          { taskId: task.id, position: 0, sourceUrl: urls[0], imageId: stored, outcome: 'stored', file: fileFor(10) },
          { taskId: task.id, position: 1, sourceUrl: urls[1], imageId: reused, outcome: 'reused', file: fileFor(11) },
          { taskId: task.id, position: 2, sourceUrl: urls[2], imageId: failing, outcome: 'failed', error: TOO_LARGE },
        ]);

        const counts = { found: 3, stored: 1, reused: 1, failed: 1, skipped: 0 };
        expect(await store.imageCounts(task.id)).toEqual(counts);
        expect((await store.getTask(task.id))?.counts).toEqual(counts);
        const listed = await store.listTasks({ kind: 'images', limit: 10 });
        expect(listed.items.find((t) => t.id === task.id)?.counts).toEqual(counts);
        expect(listed.items.find((t) => t.id === other.id)?.counts).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
        expect(await store.listTaskImages(other.id, { limit: 10 })).toEqual({ items: [] });
      });

      it('lists the image links of several tasks in one call, each task in position order', async () => {
        const [a, b, none] = [await newTask(), await newTask(), await newTask()];
        const urls = [uniqueUrl(), uniqueUrl(), uniqueUrl()];
        const first = await storedImage(a.id, urls[0]!, 30);
        const second = await storedImage(b.id, urls[1]!, 31);
        const failing = await failedImage(a.id, urls[2]!);
        await store.linkImage({ taskId: a.id, position: 1, sourceUrl: urls[2]!, imageId: failing, outcome: 'failed', error: TOO_LARGE });
        await store.linkImage({ taskId: b.id, position: 0, sourceUrl: urls[1]!, imageId: second, outcome: 'stored' });
        await store.linkImage({ taskId: a.id, position: 0, sourceUrl: urls[0]!, imageId: first, outcome: 'stored' });

        const lists = await store.listImagesOfTasks([b.id, none.id, a.id]);
        expect([...lists.keys()]).toEqual([b.id, none.id, a.id]);
        expect(lists.get(a.id)).toEqual((await store.listTaskImages(a.id, { limit: 10 })).items);
        expect(lists.get(a.id)?.map((l) => [l.position, l.outcome, l.file?.sha256])).toEqual([[0, 'stored', fileFor(30).sha256], [1, 'failed', undefined]]);
        expect(lists.get(b.id)).toEqual([{ taskId: b.id, position: 0, sourceUrl: urls[1], imageId: second, outcome: 'stored', file: fileFor(31) }]);
        expect(lists.get(none.id)).toEqual([]);
        expect(await store.listImagesOfTasks([])).toEqual(new Map());
      });

      it('keeps skipped images with their reason and details, without a file, and counts them', async () => {
        const task = await newTask();
        const urls = [uniqueUrl(), uniqueUrl(), uniqueUrl()];
        const file = { ...fileFor(20), phash: '0f0f0f0f0f0f0f0f', headerSignals: [{ signal: 'x-robots-tag' as const, where: 'X-Robots-Tag of u', value: 'noai', effect: 'reserved' as const }] };
        const { image: kept } = await claim(urls[0]!, task.id);
        await store.completeImage(kept.id, task.id, { status: 'stored', file });
        // Another task stored this file; this one skips it (the file stays for the other).
        const { image: shared } = await claim(urls[1]!, task.id);
        await store.completeImage(shared.id, task.id, { status: 'stored', file: fileFor(21) });
        const { image: small } = await claim(urls[2]!, task.id);
        await store.completeImage(small.id, task.id, { status: 'failed', error: { code: 'not_kept', message: 'filtered' } });

        const rights = { verdict: 'reserved' as const, signals: [{ signal: 'tdmrep-header' as const, where: 'h', value: 'tdm-reservation: 1', effect: 'reserved' as const }] };
        const details = {
          text: { alt: 'A cat', title: 'cat', figcaption: 'Our cat', nearby: 'near', caption: 'Our cat', captionSource: 'figcaption' as const },
          rights: { verdict: 'unknown' as const, signals: [] },
          resized: { key: 'images/00/x-512.webp', mime: 'image/webp', bytes: 10, width: 512, height: 256, sha256: 'c'.repeat(64) },
        };
        const filtered = { code: 'filtered', message: 'width 10 is under min_width 100' };
        const reserved = { code: 'rights_reserved', message: 'reserved' };
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: kept.id, outcome: 'stored', details });
        await store.linkImage({ taskId: task.id, position: 1, sourceUrl: urls[1]!, imageId: shared.id, outcome: 'skipped', error: reserved, details: { rights } });
        await store.linkImage({ taskId: task.id, position: 2, sourceUrl: urls[2]!, imageId: small.id, outcome: 'skipped', error: filtered });

        expect((await store.listTaskImages(task.id, { limit: 10 })).items).toEqual([
          { taskId: task.id, position: 0, sourceUrl: urls[0], imageId: kept.id, outcome: 'stored', file, details },
          { taskId: task.id, position: 1, sourceUrl: urls[1], imageId: shared.id, outcome: 'skipped', error: reserved, details: { rights } },
          { taskId: task.id, position: 2, sourceUrl: urls[2], imageId: small.id, outcome: 'skipped', error: filtered },
        ]);
        expect(await store.getTaskImage(task.id, kept.id)).toEqual({ taskId: task.id, position: 0, sourceUrl: urls[0], imageId: kept.id, outcome: 'stored', file, details });
        expect(await store.imageCounts(task.id)).toEqual({ found: 3, stored: 1, reused: 0, failed: 0, skipped: 2 });

        // Re-linking without details drops them (a retried task starts afresh).
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: kept.id, outcome: 'reused' });
        expect(await store.getTaskImage(task.id, kept.id)).toEqual({ taskId: task.id, position: 0, sourceUrl: urls[0], imageId: kept.id, outcome: 'reused', file });
      });

      it('gives an images task zero counts from the start', async () => {
        const task = await newTask('images');
        expect(task.counts).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
        expect((await store.getTask(task.id))?.counts).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
        expect(await store.imageCounts(task.id)).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
        expect((await store.startTask(task.id))?.counts).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
      });

      it('finishes an images task with the counts of the links its run wrote, a position linked again counted once', async () => {
        const task = await newTask('images');
        const lease = { owner: 'w1', ms: 60_000 };
        await store.startTask(task.id, lease);
        const urls = [uniqueUrl(), uniqueUrl(), uniqueUrl()];
        const claims = await store.claimImages(urls, { taskId: task.id, staleAfterMs: 60_000 });
        await store.settleImages([
          { link: { taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: claims[0]!.image.id, outcome: 'stored' }, completion: { status: 'stored', file: fileFor(40) } },
          { link: { taskId: task.id, position: 1, sourceUrl: urls[1]!, imageId: claims[1]!.image.id, outcome: 'failed', error: TOO_LARGE }, completion: { status: 'failed', error: TOO_LARGE } },
        ]);
        await store.linkImage({ taskId: task.id, position: 2, sourceUrl: urls[2]!, imageId: claims[2]!.image.id, outcome: 'skipped', error: TOO_LARGE });
        const finished = await store.finishTask(task.id, { status: 'succeeded' }, 'w1');
        const counts = { found: 3, stored: 1, reused: 0, failed: 1, skipped: 1 };
        expect(finished?.counts).toEqual(counts);
        expect((await store.getTask(task.id))?.counts).toEqual(counts);

        const other = await newTask('images');
        await store.startTask(other.id, lease);
        await store.linkImage({ taskId: other.id, position: 0, sourceUrl: urls[0]!, imageId: claims[0]!.image.id, outcome: 'failed', error: TOO_LARGE });
        await store.linkImage({ taskId: other.id, position: 0, sourceUrl: urls[0]!, imageId: claims[0]!.image.id, outcome: 'reused' });
        await store.linkImage({ taskId: other.id, position: 1, sourceUrl: urls[1]!, imageId: claims[1]!.image.id, outcome: 'failed', error: TOO_LARGE });
        const done = await store.finishTask(other.id, { status: 'succeeded' }, 'w1');
        expect(done?.counts).toEqual({ found: 2, stored: 0, reused: 1, failed: 1, skipped: 0 });
      });

      it('finishes a task taken over with the counts of every link in the store, the first worker\'s late ones too', async () => {
        const task = await newTask('images');
        await store.startTask(task.id, { owner: 'w1', ms: 1 });
        const urls = [uniqueUrl(), uniqueUrl()];
        const claims = await store.claimImages(urls, { taskId: task.id, staleAfterMs: 60_000 });
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: claims[0]!.image.id, outcome: 'failed', error: TOO_LARGE });
        await new Promise((r) => setTimeout(r, 20)); // w1's lease runs out: w2 takes the task over
        expect(await store.startTask(task.id, { owner: 'w2', ms: 60_000 })).toMatchObject({ attempts: 2, lease: { owner: 'w2' } });
        // w1, cut off, still writes a link; w2 writes its own.
        await store.linkImage({ taskId: task.id, position: 1, sourceUrl: urls[1]!, imageId: claims[1]!.image.id, outcome: 'failed', error: TOO_LARGE });
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: urls[0]!, imageId: claims[0]!.image.id, outcome: 'skipped', error: TOO_LARGE });
        expect(await store.finishTask(task.id, { status: 'succeeded' }, 'w1')).toMatchObject({ status: 'running' });
        const counts = { found: 2, stored: 0, reused: 0, failed: 1, skipped: 1 };
        expect((await store.finishTask(task.id, { status: 'succeeded' }, 'w2'))?.counts).toEqual(counts);
        expect((await store.getTask(task.id))?.counts).toEqual(counts);
      });

      it('starts a task again with the counts of the links its earlier run wrote (the runner clears them by these)', async () => {
        const task = await newTask('images');
        const lease = (owner: string) => ({ owner, ms: 60_000 });
        await store.startTask(task.id, lease('w1'));
        const url = uniqueUrl();
        const { image } = await claim(url, task.id);
        await store.settleImages([{ link: { taskId: task.id, position: 0, sourceUrl: url, imageId: image.id, outcome: 'stored' }, completion: { status: 'stored', file: fileFor(13) } }]);
        await store.releaseTask(task.id, 'w1', { code: 'internal', message: 'crashed' });
        const again = await store.startTask(task.id, lease('w2'));
        expect(again).toMatchObject({ attempts: 2, counts: { found: 1, stored: 1 } });
      });

      it('overwrites a link at the same position (idempotent)', async () => {
        const task = await newTask();
        const url = uniqueUrl();
        const { image } = await claim(url, task.id);
        await store.completeImage(image.id, task.id, { status: 'failed', error: { code: 'e', message: 'e' } });
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: url, imageId: image.id, outcome: 'failed', error: { code: 'e', message: 'e' } });
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: url, imageId: image.id, outcome: 'failed', error: { code: 'e', message: 'e' } });
        expect(await store.imageCounts(task.id)).toEqual({ found: 1, stored: 0, reused: 0, failed: 1, skipped: 0 });

        const again = await claim(url, task.id);
        expect(again.outcome).toBe('claimed');
        await store.completeImage(image.id, task.id, { status: 'stored', file: fileFor(12) });
        await store.linkImage({ taskId: task.id, position: 0, sourceUrl: url, imageId: image.id, outcome: 'stored' });
        expect(await store.imageCounts(task.id)).toEqual({ found: 1, stored: 1, reused: 0, failed: 0, skipped: 0 });
        const [only] = (await store.listTaskImages(task.id, { limit: 10 })).items;
        expect(only).toEqual({ taskId: task.id, position: 0, sourceUrl: url, imageId: image.id, outcome: 'stored', file: fileFor(12) });
      });

      it('pages through a task\'s images', async () => {
        const task = await newTask();
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          const url = uniqueUrl();
          const id = await storedImage(task.id, url, 100 + i);
          ids.push(id);
          await store.linkImage({ taskId: task.id, position: i, sourceUrl: url, imageId: id, outcome: 'stored' });
        }
        const positions: number[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listTaskImages(task.id, { limit: 3, cursor });
          sizes.push(page.items.length);
          positions.push(...page.items.map((i) => i.position));
          cursor = page.nextCursor;
          expect(sizes.length).toBeLessThan(10);
        } while (cursor);
        expect(sizes).toEqual([3, 3, 1]);
        expect(positions).toEqual([0, 1, 2, 3, 4, 5, 6]);

        await expect(store.listTaskImages(task.id, { limit: 3, cursor: 'garbage!!' })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.listTaskImages(task.id, { limit: 3, cursor: 'abc' })).rejects.toBeInstanceOf(InvalidCursorError);
      });

      it('gets one image of a task', async () => {
        const task = await newTask();
        const other = await newTask();
        const url = uniqueUrl();
        const id = await storedImage(task.id, url, 20);
        await store.linkImage({ taskId: task.id, position: 4, sourceUrl: url, imageId: id, outcome: 'stored' });
        await store.linkImage({ taskId: other.id, position: 0, sourceUrl: url, imageId: id, outcome: 'reused' });

        expect(await store.getTaskImage(task.id, id)).toEqual({
          taskId: task.id, position: 4, sourceUrl: url, imageId: id, outcome: 'stored', file: fileFor(20),
        });
        expect(await store.getTaskImage(other.id, id)).toMatchObject({ outcome: 'reused', position: 0, file: fileFor(20) });
        expect(await store.getTaskImage(task.id, randomUUID())).toBeNull();
        const third = await newTask();
        expect(await store.getTaskImage(third.id, id)).toBeNull();
      });

      it('clears a task\'s images', async () => {
        const task = await newTask();
        const other = await newTask();
        await store.startTask(task.id);
        await store.startTask(other.id);
        for (let i = 0; i < 3; i++) {
          const url = uniqueUrl();
          const id = await storedImage(task.id, url, 30 + i);
          await store.linkImage({ taskId: task.id, position: i, sourceUrl: url, imageId: id, outcome: 'stored' });
          await store.linkImage({ taskId: other.id, position: i, sourceUrl: url, imageId: id, outcome: 'reused' });
        }
        await store.clearTaskImages(task.id);
        expect(await store.listTaskImages(task.id, { limit: 10 })).toEqual({ items: [] });
        expect(await store.imageCounts(task.id)).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
        expect((await store.getTask(task.id))?.counts).toEqual({ found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 });
        // Another task's links and the images themselves stay.
        expect(await store.imageCounts(other.id)).toEqual({ found: 3, stored: 0, reused: 3, failed: 0, skipped: 0 });
      });
    });
  });
}

/**
 * The contract for two store instances on the same backing store (one file, one database): `openPair`
 * gives two fresh instances sharing one empty store for each test, `dispose` then closes both (and may
 * drop what they shared). `more` adds adapter-specific tests that use the same pair.
 */
export function describeSharedStoreContract(
  name: string,
  openPair: () => Promise<[TaskStore, TaskStore]>,
  dispose: (a: TaskStore, b: TaskStore) => Promise<void>,
  more?: (pair: () => [TaskStore, TaskStore]) => void,
): void {
  describe(`TaskStore contract, two instances on one store: ${name}`, () => {
    let a: TaskStore;
    let b: TaskStore;

    beforeEach(async () => {
      [a, b] = await openPair();
    });

    afterEach(async () => {
      await dispose(a, b);
    });

    it('lets two instances see each other\'s writes, with claims exclusive across them', async () => {
      const task = await a.createTask({ kind: 'images', url: 'https://example.test/page', refresh: false });
      expect(await b.getTask(task.id)).toEqual(task);
      await b.startTask(task.id);
      expect((await a.getTask(task.id))?.status).toBe('running');

      const other = await b.createTask({ kind: 'images', url: 'https://example.test/other', refresh: false });
      const urls = Array.from({ length: 20 }, (_, i) => `https://example.test/img/${i}.png`);
      const results = await Promise.all(urls.flatMap((url) => [
        a.claimImage(url, { taskId: task.id, staleAfterMs: 60_000 }),
        b.claimImage(url, { taskId: other.id, staleAfterMs: 60_000 }),
      ]));
      for (let i = 0; i < urls.length; i++) {
        const pair = [results[2 * i]!, results[2 * i + 1]!];
        expect(pair.map((r) => r.outcome).sort()).toEqual(['claimed', 'in_progress']);
        expect(pair[0]!.image.id).toBe(pair[1]!.image.id);
      }

      const first = results[0]!;
      const file: StoredFile = { sha256: 'f'.repeat(64), key: `images/ff/${'f'.repeat(64)}.png`, mime: 'image/png', bytes: 3 };
      const owner = first.image.ownerTaskId!;
      const [ownerStore, otherStore, otherId] = owner === task.id ? [a, b, other.id] : [b, a, task.id];
      expect(await otherStore.completeImage(first.image.id, otherId, { status: 'stored', file })).toMatchObject({ status: 'pending' });
      await ownerStore.completeImage(first.image.id, owner, { status: 'stored', file });
      expect((await otherStore.claimImage(urls[0]!, { taskId: otherId, staleAfterMs: 60_000 })).outcome).toBe('stored');
    });

    it('keeps batch claims exclusive across instances: each URL of two overlapping pages is claimed once', async () => {
      const [t1, t2] = [
        await a.createTask({ kind: 'images', url: 'https://example.test/p1', refresh: false }),
        await b.createTask({ kind: 'images', url: 'https://example.test/p2', refresh: false }),
      ];
      const urls = Array.from({ length: 30 }, (_, i) => `https://example.test/shared/${i}.png`);
      const [r1, r2] = await Promise.all([
        a.claimImages(urls, { taskId: t1.id, staleAfterMs: 60_000 }),
        b.claimImages([...urls].reverse(), { taskId: t2.id, staleAfterMs: 60_000 }),
      ]);
      const byUrl = new Map(r2.map((r) => [r.image.sourceUrl, r]));
      for (const r of r1) {
        const other = byUrl.get(r.image.sourceUrl)!;
        expect([r.outcome, other.outcome].sort()).toEqual(['claimed', 'in_progress']);
        expect(r.image.id).toBe(other.image.id);
      }
    });

    more?.(() => [a, b]);
  });
}
