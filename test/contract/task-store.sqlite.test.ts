import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/models/sqlite/schema.js';
import { describeBatchStoreContract } from './batch-store.contract.js';
import { describeFrontierRace, describeFrontierStoreContract } from './frontier-store.contract.js';
import { describeOpsStoreContract } from './ops-store.contract.js';
import { describeSharedStoreContract, describeTaskStoreContract } from './task-store.contract.js';
import { describeWebhookClaimRace, describeWebhookStoreContract } from './webhook-store.contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-store-sqlite-'));
let n = 0;
const nextFile = () => path.join(dir, `store-${++n}`, 'tasks.db');

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describeTaskStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()));
describeBatchStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()));
describeWebhookStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()));
describeFrontierStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()));

describeOpsStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()), (store) => store.close());

describeSharedStoreContract('sqlite, one file shared by two instances', async () => {
  const file = nextFile();
  return [openSqliteTaskStore(file), openSqliteTaskStore(file)];
}, async (a, b) => {
  await a.close();
  await b.close();
}, (pair) => {
  describeWebhookClaimRace(pair);
  describeFrontierRace(pair);
});

describe('SqliteTaskStore.getTaskHead', () => {
  it('reads what decides a cached answer, as getTask has it, also as another instance on the file writes', async () => {
    const file = nextFile();
    const [reader, writer] = [openSqliteTaskStore(file), openSqliteTaskStore(file)];
    try {
      expect(await reader.getTaskHead('nope')).toBeNull();
      const t = await writer.createTask({ kind: 'text', url: 'https://example.com/', refresh: false, owner: 'key-1' });
      const head = async () => {
        const full = (await reader.getTask(t.id))!;
        return { got: await reader.getTaskHead(t.id), want: { id: t.id, kind: full.kind, status: full.status, attempts: full.attempts, updatedAt: full.updatedAt, owner: full.owner } };
      };
      const queued = await head();
      expect(queued.got).toEqual(queued.want);
      await writer.startTask(t.id);
      await writer.finishTask(t.id, { status: 'failed', error: { code: 'timeout', message: 'slow' } });
      const failed = await head();
      expect(failed.got).toEqual(failed.want);
      expect(failed.got).toMatchObject({ status: 'failed', attempts: 1, owner: 'key-1' });
      const anonymous = await writer.createTask({ kind: 'images', url: 'https://example.com/', refresh: false });
      expect(await reader.getTaskHead(anonymous.id)).not.toHaveProperty('owner');
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});

describe('SqliteTaskStore.getTaskHead, several in one turn of the event loop', () => {
  it('answers each read asked together with its own task, unknown ones null', async () => {
    const store = openSqliteTaskStore(nextFile());
    try {
      const tasks = await Promise.all([0, 1, 2].map((i) => store.createTask({ kind: i === 1 ? 'images' : 'text', url: `https://example.com/${i}`, refresh: false, owner: `key-${i}` })));
      const heads = await Promise.all([...tasks.map((t) => store.getTaskHead(t.id)), store.getTaskHead('nope')]);
      expect(heads).toEqual([...tasks.map((t) => ({ id: t.id, kind: t.kind, status: 'queued', attempts: 0, updatedAt: t.updatedAt, owner: t.owner })), null]);
    } finally {
      await store.close();
    }
  });

  it('rejects every read asked together when the store cannot answer them', async () => {
    const store = openSqliteTaskStore(nextFile());
    const reads = [store.getTaskHead('a'), store.getTaskHead('b')];
    await store.close();
    for (const read of reads) await expect(read).rejects.toThrow();
  });
});

describe('SqliteTaskStore on a shared file', () => {
  it('creates its directory, uses WAL and records the schema version', async () => {
    const file = nextFile();
    const store = openSqliteTaskStore(file);
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('indexes owned tasks only for the lists by owner, which still search that index', async () => {
    const file = nextFile();
    const store = openSqliteTaskStore(file);
    const owned = await store.createTask({ kind: 'text', url: 'https://example.test/o', refresh: false, owner: 'key-1' });
    await store.createTask({ kind: 'text', url: 'https://example.test/a', refresh: false });
    expect((await store.listTasks({ kind: 'text', limit: 10, owner: 'key-1' })).items.map((t) => t.id)).toEqual([owned.id]);
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      const plan = db
        .prepare("EXPLAIN QUERY PLAN SELECT * FROM tasks WHERE kind = 'text' AND owner = 'key-1' ORDER BY created_at DESC, id DESC LIMIT 5")
        .all() as Array<{ detail: string }>;
      expect(plan.map((r) => r.detail).join('; ')).toContain('USING INDEX tasks_owner_kind_created');
      const indexed = db.prepare('SELECT COUNT(*) AS n FROM tasks INDEXED BY tasks_owner_kind_created WHERE owner IS NOT NULL').get() as { n: number };
      expect(indexed.n).toBe(1);
    } finally {
      db.close();
    }
  });

  it('keeps its data across reopening', async () => {
    const file = nextFile();
    const first = openSqliteTaskStore(file);
    const task = await first.createTask({ kind: 'text', url: 'https://example.test/', refresh: false });
    await first.saveText(task.id, 'kept');
    await first.close();
    await first.close(); // closing twice is harmless

    const second = openSqliteTaskStore(file);
    try {
      expect(await second.getTask(task.id)).toEqual(task);
      expect(await second.getText(task.id)).toBe('kept');
    } finally {
      await second.close();
    }
  });

  it('upgrades a version 1 file, keeping its tasks and task images', async () => {
    const file = nextFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    const at = '2026-01-01T00:00:00.000Z';
    db.prepare(`INSERT INTO tasks (id, kind, url, status, refresh, attempts, created_at, updated_at) VALUES ('t1', 'images', 'https://example.test/', 'succeeded', 0, 1, ?, ?)`).run(at, at);
    db.prepare(`INSERT INTO images (id, source_url, status, updated_at, file) VALUES ('i1', 'https://example.test/a.png', 'stored', ?, ?)`).run(at, JSON.stringify({ sha256: 'ab', key: 'images/ab/ab.png', mime: 'image/png', bytes: 1 }));
    db.prepare(`INSERT INTO task_images (task_id, position, source_url, image_id, outcome) VALUES ('t1', 0, 'https://example.test/a.png', 'i1', 'stored')`).run();
    db.close();

    const store = openSqliteTaskStore(file);
    try {
      expect((await store.getTask('t1'))?.counts).toEqual({ found: 1, stored: 1, reused: 0, failed: 0, skipped: 0 });
      // Made before the store kept it: unknown, so its events look its endpoint up.
      expect(await store.getTask('t1')).not.toHaveProperty('hasWebhook');
      expect((await store.listTaskImages('t1', { limit: 5 })).items).toEqual([
        { taskId: 't1', position: 0, sourceUrl: 'https://example.test/a.png', imageId: 'i1', outcome: 'stored', file: { sha256: 'ab', key: 'images/ab/ab.png', mime: 'image/png', bytes: 1 } },
      ]);
      await store.linkImage({ taskId: 't1', position: 1, sourceUrl: 'https://example.test/a.png', imageId: 'i1', outcome: 'skipped', error: { code: 'filtered', message: 'm' } });
      expect((await store.imageCounts('t1')).skipped).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('works in memory', async () => {
    const store = openSqliteTaskStore(':memory:');
    try {
      const task = await store.createTask({ kind: 'text', url: 'https://example.test/', refresh: false });
      expect(await store.getTask(task.id)).toEqual(task);
    } finally {
      await store.close();
    }
  });

  it('rejects a limit out of range', async () => {
    const store = openSqliteTaskStore(':memory:');
    try {
      await expect(store.listTasks({ kind: 'text', limit: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.listTasks({ kind: 'text', limit: 1001 })).rejects.toBeInstanceOf(RangeError);
    } finally {
      await store.close();
    }
  });
});
