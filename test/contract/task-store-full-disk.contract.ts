/**
 * The TaskStore's write guarantee on a full disk, run against every adapter: each write takes effect or
 * throws. The store's files live on a small tmpfs; the disk is filled with a ballast file while the store
 * keeps writing, then every write that reported success is read back from a reopened store.
 * A write that threw may or may not have taken effect; one that resolved must be there.
 */
import type { TaskStore } from '../../src/models/task-store.js';
import type { ImageRecord, StoredFile, Task } from '../../src/models/task.js';
import { describeWithTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

export interface FullDiskTarget {
  /** Opens the store with its data under `dir` (the tmpfs). */
  open(): Promise<TaskStore>;
  /** Closes everything the target started (the store is closed by the suite). */
  stop?(): Promise<void>;
}

type Snapshot = unknown;

interface Entry {
  /** The state the last successful write reported. */
  confirmed: Snapshot;
  /** The state had the write that threw taken effect. */
  maybe?: Snapshot;
  read: (store: TaskStore) => Promise<Snapshot>;
}

const taskSnap = (t: Task | null) => (t ? { status: t.status, attempts: t.attempts } : null);
const imageSnap = (i: ImageRecord | null) => (i ? { status: i.status, owner: i.ownerTaskId ?? null, sha256: i.file?.sha256 ?? null } : null);

function fileFor(n: number): StoredFile {
  const sha256 = n.toString(16).padStart(64, '0');
  return { sha256, key: `images/${sha256.slice(0, 2)}/${sha256}.png`, mime: 'image/png', bytes: 100 + n };
}

/** Text that does not compress, so each saveText takes its size on disk. */
function noise(n: number, seed: number): string {
  let x = seed * 2654435761 >>> 0;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += String.fromCharCode(97 + (x >>> 16) % 26);
  }
  return out;
}

/** Every write attempted, what it reported, and how to read the same state back. */
class Ledger {
  readonly entries = new Map<string, Entry>();
  readonly succeeded = new Map<string, number>();
  readonly failed = new Map<string, number>();
  readonly errors = new Set<string>();

  expect(key: string, confirmed: Snapshot, read: Entry['read']): void {
    this.entries.set(key, { confirmed, read });
  }

  /**
   * Runs one write of record `key`. `after` gives the state the write reports (from its result), or, called
   * with undefined when it threw, the state it would have left.
   */
  async write<T>(op: string, key: string, run: () => Promise<T>, after: (result: T | undefined) => Snapshot, read: Entry['read']): Promise<{ ok: true; result: T } | { ok: false }> {
    const before = this.entries.get(key);
    try {
      const result = await run();
      this.succeeded.set(op, (this.succeeded.get(op) ?? 0) + 1);
      this.entries.set(key, { confirmed: after(result), read });
      return { ok: true, result };
    } catch (err) {
      this.failed.set(op, (this.failed.get(op) ?? 0) + 1);
      this.errors.add(`${op}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200));
      this.entries.set(key, { confirmed: before?.confirmed ?? null, maybe: after(undefined), read });
      return { ok: false };
    }
  }

  get failures(): number {
    return [...this.failed.values()].reduce((a, b) => a + b, 0);
  }
}

const readTask = (id: string) => async (s: TaskStore) => taskSnap(await s.getTask(id));
const readText = (id: string) => (s: TaskStore) => s.getText(id);
const readImage = (id: string) => async (s: TaskStore) => imageSnap(await s.getImage(id));
const readLinks = (taskId: string) => async (s: TaskStore) =>
  (await s.listTaskImages(taskId, { limit: 10 })).items.map((l) => [l.position, l.outcome]);

/**
 * One task's life, stopping at its first failed write (so each record has at most one uncertain write).
 * False when not even the task could be created.
 */
async function lifecycle(store: TaskStore, ledger: Ledger, round: number): Promise<boolean> {
  const url = `https://example.test/page/${round}`;
  const created = await ledger.write('createTask', `new:${round}`, () => store.createTask({ kind: 'images', url, refresh: false }), () => null, async () => null);
  ledger.entries.delete(`new:${round}`); // a task that failed to be created has no id to read back
  if (!created.ok) return false;
  const task = created.result;
  ledger.expect(`task:${task.id}`, taskSnap(task), readTask(task.id));
  const started = await ledger.write('startTask', `task:${task.id}`, () => store.startTask(task.id),
    (t) => (t === undefined ? { status: 'running', attempts: 1 } : taskSnap(t)), readTask(task.id));
  if (!started.ok) return true;
  const text = noise(2000 + (round % 7) * 1000, round);
  const saved = await ledger.write('saveText', `text:${task.id}`, () => store.saveText(task.id, text), () => text, readText(task.id));
  if (!saved.ok) return true;
  const claimed = await ledger.write('claimImage', `new-image:${round}`,
    () => store.claimImage(`${url}/img.png`, { taskId: task.id, staleAfterMs: 3_600_000 }), () => null, async () => null);
  ledger.entries.delete(`new-image:${round}`); // its id comes with the answer
  if (!claimed.ok) return true;
  expect(claimed.result.outcome).toBe('claimed');
  const image = claimed.result.image;
  ledger.expect(`image:${image.id}`, imageSnap(image), readImage(image.id));
  const file = fileFor(round);
  const done = await ledger.write('completeImage', `image:${image.id}`, () => store.completeImage(image.id, task.id, { status: 'stored', file }),
    (i) => (i === undefined ? { status: 'stored', owner: null, sha256: file.sha256 } : imageSnap(i)), readImage(image.id));
  if (!done.ok) return true;
  const linked = await ledger.write('linkImage', `links:${task.id}`,
    () => store.linkImage({ taskId: task.id, position: 0, sourceUrl: image.sourceUrl, imageId: image.id, outcome: 'stored' }),
    () => [[0, 'stored']], readLinks(task.id));
  if (!linked.ok) return true;
  await ledger.write('finishTask', `task:${task.id}`, () => store.finishTask(task.id, { status: 'succeeded' }),
    (t) => (t === undefined ? { status: 'succeeded', attempts: 1 } : taskSnap(t)), readTask(task.id));
  return true;
}

export function describeFullDiskContract(name: string, target: (dir: string) => FullDiskTarget): void {
  // Big enough for the store's files and FerretDB's, small enough to fill in a moment.
  describeWithTmpfs(`TaskStore on a full disk: ${name}`, 24 * 1024 * 1024, (tmpfs: () => Tmpfs) => {
    let t: FullDiskTarget | undefined;
    let store: TaskStore | undefined;

    afterEach(async () => {
      await store?.close();
      await t?.stop?.();
      tmpfs().free();
    });

    it('reports success only for writes that are there after reopening', async () => {
      t = target(tmpfs().dir);
      store = await t.open();
      const s = store;
      const ledger = new Ledger();

      // With room: tasks and images in every state a later write starts from.
      const queued: Task[] = [];
      const running: Task[] = [];
      const pending: Array<{ image: ImageRecord; owner: Task }> = [];
      const failedImages: ImageRecord[] = [];
      for (let i = 0; i < 8; i++) {
        const q = await s.createTask({ kind: 'text', url: `https://example.test/q/${i}`, refresh: false });
        queued.push(q);
        ledger.expect(`task:${q.id}`, taskSnap(q), readTask(q.id));
        const r = await s.createTask({ kind: 'images', url: `https://example.test/r/${i}`, refresh: false });
        const started = (await s.startTask(r.id))!;
        running.push(started);
        ledger.expect(`task:${r.id}`, taskSnap(started), readTask(r.id));
        const { image } = await s.claimImage(`https://example.test/pending/${i}.png`, { taskId: r.id, staleAfterMs: 3_600_000 });
        pending.push({ image, owner: r });
        ledger.expect(`image:${image.id}`, imageSnap(image), readImage(image.id));
        const f = (await s.claimImage(`https://example.test/failed/${i}.png`, { taskId: r.id, staleAfterMs: 3_600_000 })).image;
        const failed = await s.completeImage(f.id, r.id, { status: 'failed', error: { code: 'timeout', message: 't' } });
        failedImages.push(failed);
        ledger.expect(`image:${f.id}`, imageSnap(failed), readImage(f.id));
      }

      // The disk fills up while tasks run their course.
      tmpfs().fill(384 * 1024);
      let round = 0;
      let idle = 0;
      while (idle < 3 && round < 2000) {
        const wrote = await lifecycle(s, ledger, round++);
        idle = wrote ? 0 : idle + 1;
      }

      // Full: every kind of state change, once each, on the records made with room.
      const fullFrom = ledger.failures;
      for (let i = 0; i < 8; i++) {
        const q = queued[i]!;
        await ledger.write('startTask', `task:${q.id}`, () => s.startTask(q.id),
          (t2) => t2 === undefined ? { status: 'running', attempts: 1 } : taskSnap(t2), readTask(q.id));
        const r = running[i]!;
        await ledger.write('finishTask', `task:${r.id}`, () => s.finishTask(r.id, { status: 'failed', error: { code: 'internal_error', message: 'disk full' } }),
          (t2) => t2 === undefined ? { status: 'failed', attempts: 1 } : taskSnap(t2), readTask(r.id));
        const { image, owner } = pending[i]!;
        await ledger.write('completeImage', `image:${image.id}`, () => s.completeImage(image.id, owner.id, { status: 'stored', file: fileFor(10_000 + i) }),
          (img) => img === undefined ? { status: 'stored', owner: null, sha256: fileFor(10_000 + i).sha256 } : imageSnap(img), readImage(image.id));
        const f = failedImages[i]!;
        await ledger.write('claimImage', `image:${f.id}`, () => s.claimImage(f.sourceUrl, { taskId: q.id, staleAfterMs: 3_600_000 }),
          (c) => c === undefined ? { status: 'pending', owner: q.id, sha256: null } : imageSnap(c.image), readImage(f.id));
      }

      // The disk did fill: writes failed, in the growing phase and on the full disk.
      expect(ledger.succeeded.get('finishTask') ?? 0).toBeGreaterThan(0);
      expect(ledger.failures).toBeGreaterThan(fullFrom);
      // …and only for want of space, not from a bug on the way.
      expect([...ledger.errors].filter((e) => !/disk is full|no space/i.test(e))).toEqual([]);

      // Room again; reopen and read every record back.
      await s.close();
      store = undefined;
      await t.stop?.();
      tmpfs().free();
      t = target(tmpfs().dir);
      store = await t.open();
      const mismatches: string[] = [];
      for (const [key, entry] of ledger.entries) {
        const actual = await entry.read(store);
        const allowed = entry.maybe === undefined ? [entry.confirmed] : [entry.confirmed, entry.maybe];
        if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(actual))) {
          mismatches.push(`${key}: reported ${JSON.stringify(entry.confirmed)}${entry.maybe === undefined ? '' : ` (or ${JSON.stringify(entry.maybe)})`}, found ${JSON.stringify(actual)}`);
        }
      }
      expect(mismatches).toEqual([]);
    }, 240_000);
  });
}
