import path from 'node:path';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { describeFullDiskContract } from './task-store-full-disk.contract.js';

describeFullDiskContract('sqlite file', (dir) => ({
  open: async () => openSqliteTaskStore(path.join(dir, 'tasks.sqlite')),
}));
