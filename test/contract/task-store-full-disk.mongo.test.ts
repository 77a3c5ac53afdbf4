import fs from 'node:fs';
import path from 'node:path';
import { openMongoTaskStore } from '../../src/models/mongo/mongo-task-store.js';
import { startFerretDb, type FerretDb } from '../helpers/ferretdb.js';
import { describeWithService } from '../helpers/services.js';
import { describeFullDiskContract } from './task-store-full-disk.contract.js';

// A FerretDB of its own whose SQLite files are on the test's tmpfs (the shared one's are not).
describeWithService('FERRETDB_BIN', 'MongoTaskStore on a full disk', (bin) => {
  describeFullDiskContract('mongo (FerretDB, SQLite backend)', (dir) => {
    let server: FerretDb | undefined;
    return {
      async open() {
        const dataDir = path.join(dir, 'ferretdb');
        fs.mkdirSync(dataDir, { recursive: true });
        server = await startFerretDb(bin, dataDir);
        return openMongoTaskStore(server.url);
      },
      async stop() {
        await server?.stop();
      },
    };
  });
});
