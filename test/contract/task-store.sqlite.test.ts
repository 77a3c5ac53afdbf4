import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { SCHEMA_VERSION } from '../../src/models/sqlite/schema.js';
import { describeOpsStoreContract } from './ops-store.contract.js';
import { describeSharedStoreContract, describeTaskStoreContract } from './task-store.contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-store-sqlite-'));
let n = 0;
const nextFile = () => path.join(dir, `store-${++n}`, 'tasks.db');

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describeTaskStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()));

describeOpsStoreContract('sqlite file', async () => openSqliteTaskStore(nextFile()), (store) => store.close());

describeSharedStoreContract('sqlite, one file shared by two instances', async () => {
  const file = nextFile();
  return [openSqliteTaskStore(file), openSqliteTaskStore(file)];
}, async (a, b) => {
  await a.close();
  await b.close();
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
