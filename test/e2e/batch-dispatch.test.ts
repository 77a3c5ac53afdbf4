/**
 * How the API queues a batch without a feeder (cluster mode): one message per URL, led by its first kind's task
 * and naming the rest (Job.siblings); a message the broker never takes fails every task of its page.
 */
import net from 'node:net';
import { pino } from 'pino';
import request from 'supertest';
import { createApp } from '../../src/api/app.js';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { createCeleryQueue } from '../../src/queue/celery/celery-queue.js';
import { InlineQueue } from '../../src/queue/inline-queue.js';
import type { Job } from '../../src/queue/job-queue.js';
import { VolumeBlobStore } from '../../src/storage/volume-blob-store.js';
import { tempDir } from '../helpers/temp.js';

const log = pino({ level: 'silent' });
const urls = ['https://example.test/a', 'https://example.test/b'];

/** A loopback port nothing listens on (taken, then closed). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('queueing a batch with several kinds', () => {
  it('queues one job per URL, which names the URL\'s other tasks', async () => {
    const store = openSqliteTaskStore(':memory:');
    // Room for one job per URL only: a job per task would be refused (queue_full).
    const queue = new InlineQueue(2);
    const app = createApp({ store, queue, blobs: new VolumeBlobStore(tempDir(), '/media'), log });
    try {
      const res = await request(app).post('/batches').send({ urls, kinds: ['text', 'images'] }).expect(202);
      const tasks = (await request(app).get(`/batches/${res.body.id as string}/tasks`).expect(200)).body.items as Array<Record<string, unknown>>;
      expect(tasks).toHaveLength(4);
      const ran: Job[] = [];
      await queue.consume(async (job) => void ran.push(job), { concurrency: 1 });
      await queue.drained();
      const id = (url: string, kind: string) => tasks.find((t) => t.url === url && t.kind === kind)?.id;
      expect(ran).toEqual(urls.map((url) => ({ taskId: id(url, 'text'), kind: 'text', siblings: [id(url, 'images')] })));
    } finally {
      await queue.close();
      store.close();
    }
  });

  it('fails every task of a page whose message the broker never took, and answers 503', async () => {
    const store = openSqliteTaskStore(':memory:');
    const queue = createCeleryQueue({ amqpUrl: `amqp://guest:guest@127.0.0.1:${await deadPort()}`, dispatchTimeoutMs: 300, reconnect: { minMs: 20, maxMs: 50 }, log });
    const app = createApp({ store, queue, blobs: new VolumeBlobStore(tempDir(), '/media'), log });
    try {
      const res = await request(app).post('/batches').send({ urls, kinds: ['text', 'images'] }).expect(503);
      expect(res.body.detail).toContain('took 0 of the 4 tasks');
      const [batch] = (await request(app).get('/batches').expect(200)).body.items as Array<{ id: string }>;
      const tasks = (await request(app).get(`/batches/${batch!.id}/tasks`).expect(200)).body.items as Array<Record<string, unknown>>;
      expect(tasks.map((t) => [t.status, (t.error as { code?: string } | undefined)?.code])).toEqual(Array(4).fill(['failed', 'queue_unavailable']));
    } finally {
      await queue.close();
      store.close();
    }
  });
});
