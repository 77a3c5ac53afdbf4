import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { SCHEMA_VERSION } from '../../src/models/sqlite/schema.js';
import { describeTaskStoreContract } from './task-store.contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-store-sqlite-'));
let n = 0;
const nextFile = () => path.join(dir, `store-${++n}`, 'tasks.db');

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describeTaskStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()));

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

  it('lets two instances see each other\'s writes, with claims exclusive across them', async () => {
    const file = nextFile();
    const a = openSqliteTaskStore(file);
    const b = openSqliteTaskStore(file);
    try {
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
      const file1 = { sha256: 'f'.repeat(64), key: `images/ff/${'f'.repeat(64)}.png`, mime: 'image/png', bytes: 3 };
      const owner = first.image.ownerTaskId!;
      const ownerStore = owner === task.id ? a : b;
      const otherStore = owner === task.id ? b : a;
      const otherId = owner === task.id ? other.id : task.id;
      expect(await otherStore.completeImage(first.image.id, otherId, { status: 'stored', file: file1 })).toMatchObject({ status: 'pending' });
      await ownerStore.completeImage(first.image.id, owner, { status: 'stored', file: file1 });
      expect((await otherStore.claimImage(urls[0]!, { taskId: otherId, staleAfterMs: 60_000 })).outcome).toBe('stored');
    } finally {
      await a.close();
      await b.close();
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
