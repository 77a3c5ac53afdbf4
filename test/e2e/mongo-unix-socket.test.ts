/**
 * scripts/services.sh also offers its FerretDB over a Unix socket (MONGO_URL_UNIX, the socket path
 * percent-encoded as the host), a same-host option the bench measures beside loopback TCP: the service's
 * Mongo store works through it (the URL names nothing but the socket).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import mongoose from 'mongoose';
import { openMongoTaskStore } from '../../src/models/mongo/mongo-task-store.js';
import { describeWithService } from '../helpers/services.js';

describeWithService('MONGO_URL_UNIX', 'MongoTaskStore over a Unix socket', (url) => {
  const dbName = `scrapeds_unix_${randomBytes(6).toString('hex')}`;

  afterAll(async () => {
    const conn = await mongoose.createConnection(url).asPromise();
    await conn.useDb(dbName, { useCache: false }).dropDatabase();
    await conn.close();
  });

  it('names a socket file that exists', () => {
    const socket = decodeURIComponent(new URL(url).host);
    expect(socket).toMatch(/\.sock$/);
    expect(fs.statSync(socket).isSocket()).toBe(true);
  });

  it('creates a task and reads it back through the socket', async () => {
    const store = await openMongoTaskStore(url, { dbName });
    try {
      const task = await store.createTask({ kind: 'text', url: 'http://127.0.0.1/unix.html', refresh: false });
      const read = await store.getTask(task.id);
      expect(read).toMatchObject({ id: task.id, kind: 'text', url: 'http://127.0.0.1/unix.html', status: 'queued' });
    } finally {
      await store.close();
    }
  });
});
