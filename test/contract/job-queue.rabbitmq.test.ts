/**
 * The JobQueue contract against a real RabbitMQ (AMQP_URL), plus what only a broker can show:
 * redelivery after a worker dies, prefetch sharing, malformed messages, Celery interop, reconnects.
 * Each test uses its own queue and deletes it afterwards. Outages are simulated with a TCP proxy
 * in front of RabbitMQ, so no other suite sharing the broker is disturbed; a real restart of the
 * node is in test/serial/cluster.test.ts.
 */
import amqplib, { type Channel, type ChannelModel, type Options } from 'amqplib';
import celery from 'celery-node';
import { pino } from 'pino';
import { createCeleryQueue, type CeleryQueueOptions } from '../../src/queue/celery/celery-queue.js';
import type { Job, JobQueue } from '../../src/queue/job-queue.js';
import { describeWithService } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { listDeadLetters, replayDeadLetters } from '../../src/queue/celery/dead-letters.js';
import { FAST_RETRY, describeJobQueueContract, what } from './job-queue.contract.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await tick(10);
  }
}
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describeWithService('AMQP_URL', 'JobQueue on RabbitMQ', (amqpUrl) => {
  let admin: ChannelModel;
  let adminCh: Channel;
  let queueName = '';
  let n = 0;
  const opened: JobQueue[] = [];

  const open = (extra: Partial<CeleryQueueOptions> = {}): JobQueue => {
    const queue = createCeleryQueue({
      amqpUrl,
      queueName,
      log,
      reconnect: { minMs: 50, maxMs: 500 },
      retry: FAST_RETRY,
      ...extra,
    });
    opened.push(queue);
    return queue;
  };

  const publishRaw = (body: string | Buffer, options: Options.Publish): void => {
    adminCh.sendToQueue(queueName, Buffer.isBuffer(body) ? body : Buffer.from(body), options);
  };

  beforeAll(async () => {
    admin = await amqplib.connect(amqpUrl);
    adminCh = await admin.createChannel();
  });
  afterAll(async () => {
    await admin.close();
  });

  describe('each test on its own queue', () => {
    beforeEach(() => {
      queueName = `scrapeds-test-${process.pid}-${Date.now()}-${++n}`;
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
      await adminCh.deleteQueue(queueName);
      await adminCh.deleteQueue(`${queueName}.dead`);
    });

    describeJobQueueContract('RabbitMQ', async (retry) => open(retry ? { retry } : {}));

    it('moves a job it gave up on to the dead-letter queue it declares, saying why; a replay runs it again as replayed', async () => {
      const queue = open();
      const runs: Job[] = [];
      let healed = false;
      await queue.consume(
        async (job) => {
          runs.push(what(job));
          if (!healed) throw new Error('the store rejects this task');
        },
        { concurrency: 1 },
      );
      await queue.dispatch({ taskId: 'poison-1', kind: 'images' });
      await until(() => runs.length === FAST_RETRY.maxAttempts, 10_000, 'every attempt');
      const deadQueue = `${queueName}.dead`;
      let dead = 0;
      for (const deadline = Date.now() + 5_000; dead === 0 && Date.now() < deadline; await tick(50)) dead = (await adminCh.checkQueue(deadQueue)).messageCount;
      expect(dead).toBe(1);
      expect((await adminCh.checkQueue(queueName)).messageCount).toBe(0);

      const letters = await listDeadLetters(amqpUrl, queueName);
      expect(letters).toEqual([
        expect.objectContaining({ taskName: 'scrape.images', taskId: 'poison-1', reason: 'attempts_exhausted', error: 'the store rejects this task' }),
      ]);
      expect((await adminCh.checkQueue(deadQueue)).messageCount).toBe(1); // listing leaves it in place

      healed = true;
      const replayed = await replayDeadLetters(amqpUrl, queueName);
      expect(replayed.map((l) => l.taskId)).toEqual(['poison-1']);
      await until(() => runs.length === FAST_RETRY.maxAttempts + 1, 10_000, 'the replayed run');
      expect(runs.at(-1)).toEqual({ taskId: 'poison-1', kind: 'images', replayed: true });
      expect(runs.slice(0, -1).every((j) => j.replayed === undefined)).toBe(true);
      await tick(200);
      expect((await adminCh.checkQueue(deadQueue)).messageCount).toBe(0);
      expect((await adminCh.checkQueue(queueName)).messageCount).toBe(0);
    });

    it('carries a job\'s page-mates, marks a first delivery, and a retry as retried', async () => {
      const queue = open();
      const seen: Job[] = [];
      await queue.consume(
        async (job) => {
          seen.push(job);
          if (seen.length === 1) throw new Error('store down');
        },
        { concurrency: 1 },
      );
      await queue.dispatch({ taskId: 'mate-1', kind: 'text', siblings: ['mate-2'] });
      await until(() => seen.length === 2, 10_000, 'the run and its retry');
      expect(seen).toEqual([
        { taskId: 'mate-1', kind: 'text', siblings: ['mate-2'], firstDelivery: true },
        // Republished to the back of the queue: a message no one saw before, whose handler threw before.
        { taskId: 'mate-1', kind: 'text', siblings: ['mate-2'], firstDelivery: true, retried: true },
      ]);
    });

    it('redelivers a job whose worker died before acking it to another worker', async () => {
      const proxy = await TcpProxy.start(amqpUrl);
      try {
        const crashing = open({ amqpUrl: proxy.url });
        const stuck = deferred();
        const startedA: string[] = [];
        await crashing.consume(
          async (job) => {
            startedA.push(job.taskId);
            await stuck.promise;
          },
          { concurrency: 1 },
        );
        const survivor = open();
        await survivor.dispatch({ taskId: 'crash-1', kind: 'images' });
        await until(() => startedA.length === 1, 10_000, 'first worker started');
        proxy.cut(); // the worker's process "dies": its connection drops without an ack

        const seenB: Job[] = [];
        await survivor.consume(async (job) => void seenB.push(job), { concurrency: 1 });
        await until(() => seenB.length === 1, 10_000, 'redelivery to the second worker');
        // Redelivered: not a first delivery (it may be the dead worker's own message, so the runner waits on it).
        expect(seenB).toEqual([{ taskId: 'crash-1', kind: 'images' }]);
        stuck.resolve();
        await tick(200);
        expect(seenB).toHaveLength(1);
        expect((await adminCh.checkQueue(queueName)).messageCount).toBe(0);
      } finally {
        await proxy.close();
      }
    });

    it('shares jobs between consumers by prefetch: each runs at most its concurrency', async () => {
      const a = open();
      const b = open();
      const byConsumer: Record<'a' | 'b', string[]> = { a: [], b: [] };
      const peak = { a: 0, b: 0 };
      const running = { a: 0, b: 0 };
      const handler = (who: 'a' | 'b') => async (job: Job) => {
        peak[who] = Math.max(peak[who], ++running[who]);
        await tick(100);
        running[who]--;
        byConsumer[who].push(job.taskId);
      };
      await a.consume(handler('a'), { concurrency: 1 });
      await b.consume(handler('b'), { concurrency: 1 });
      for (let i = 0; i < 10; i++) await a.dispatch({ taskId: `p${i}`, kind: 'text' });
      await until(() => byConsumer.a.length + byConsumer.b.length === 10, 15_000, 'all 10 jobs');
      expect(byConsumer.a.length).toBeGreaterThan(0);
      expect(byConsumer.b.length).toBeGreaterThan(0);
      expect(new Set([...byConsumer.a, ...byConsumer.b]).size).toBe(10);
      expect(peak).toEqual({ a: 1, b: 1 });
    });

    it('holds one message ahead of each handler slot, so the next job starts when one ends, and runs at most its concurrency', async () => {
      const queue = open();
      const gate = deferred();
      const started: string[] = [];
      let running = 0;
      let peak = 0;
      await queue.consume(async (job) => {
        started.push(job.taskId);
        peak = Math.max(peak, ++running);
        await gate.promise;
        running--;
      }, { concurrency: 1 });
      for (let i = 0; i < 4; i++) await queue.dispatch({ taskId: `ahead-${i}`, kind: 'text' });
      await until(() => started.length === 1, 10_000, 'the first job');
      // Two taken (prefetch 2 × concurrency): the running one and the one waiting for its slot; two still ready.
      for (let i = 0; i < 100 && (await adminCh.checkQueue(queueName)).messageCount > 2; i++) await tick(20);
      await tick(200);
      expect((await adminCh.checkQueue(queueName)).messageCount).toBe(2);
      expect(started).toEqual(['ahead-0']);
      gate.resolve();
      await until(() => started.length === 4, 10_000, 'all 4 jobs');
      expect(peak).toBe(1);
    });

    it('starts the next job when a handler says its work is done, acks each only when it resolves, and runs no more handlers than it holds messages', async () => {
      const queue = open();
      const gates = new Map<string, () => void>();
      const started: string[] = [];
      await queue.consume(async (job, progress) => {
        started.push(job.taskId);
        progress?.workDone();
        await new Promise<void>((resolve) => gates.set(job.taskId, resolve));
      }, { concurrency: 1 });
      for (let i = 0; i < 4; i++) await queue.dispatch({ taskId: `tail-${i}`, kind: 'text' });
      // Both held messages run (their work done, each waits for its final write); the other two wait in the queue.
      await until(() => started.length === 2, 10_000, 'two handlers');
      await tick(200);
      expect(started).toEqual(['tail-0', 'tail-1']);
      expect((await adminCh.checkQueue(queueName)).messageCount).toBe(2);
      // One resolves: it is acked, and the next message comes.
      gates.get('tail-0')!();
      await until(() => started.length === 3, 10_000, 'the third handler');
      expect((await adminCh.checkQueue(queueName)).messageCount).toBe(1);
      for (let i = 1; i < 3; i++) gates.get(`tail-${i}`)!();
      await until(() => started.length === 4, 10_000, 'the fourth handler');
      gates.get('tail-3')!();
    });

    it('dead-letters malformed messages without running them and keeps consuming', async () => {
      const queue = open();
      const seen: Job[] = [];
      await queue.consume(async (job) => void seen.push(what(job)), { concurrency: 2 });
      const json = { contentType: 'application/json', contentEncoding: 'utf-8' };
      const v2 = (task: string) => ({ ...json, headers: { task, id: 'x' } });
      publishRaw('{not json', v2('scrape.text'));
      publishRaw(JSON.stringify([['t1'], {}, {}]), v2('scrape.unknown'));
      publishRaw(JSON.stringify([[], {}, {}]), v2('scrape.text'));
      publishRaw(JSON.stringify([[42], {}, {}]), v2('scrape.text'));
      publishRaw(JSON.stringify([['a', 'b'], {}, {}]), v2('scrape.text'));
      publishRaw(JSON.stringify({ args: ['t1'] }), v2('scrape.text'));
      publishRaw(JSON.stringify([['t1'], {}, {}]), { contentType: 'application/x-python-serialize', headers: { task: 'scrape.text', id: 'x' } });
      publishRaw(JSON.stringify(['no headers']), json);
      publishRaw(JSON.stringify([['good-1'], {}, {}]), v2('scrape.text'));
      await until(() => seen.length === 1, 10_000, 'the good message');
      await tick(200);
      expect(seen).toEqual([{ taskId: 'good-1', kind: 'text' }]);
      await queue.close();
      const state = await adminCh.checkQueue(queueName);
      expect(state.messageCount).toBe(0);
      const letters = await listDeadLetters(amqpUrl, queueName);
      expect(letters).toHaveLength(8);
      expect(letters.every((l) => l.reason === 'malformed' && typeof l.malformed === 'string')).toBe(true);
      // A replay leaves malformed messages where they are unless asked.
      expect(await replayDeadLetters(amqpUrl, queueName)).toEqual([]);
      expect((await adminCh.checkQueue(`${queueName}.dead`)).messageCount).toBe(8);
    });

    it('consumes a message in the exact format Python Celery 5 sends (protocol v2)', async () => {
      const queue = open();
      const seen: Job[] = [];
      await queue.consume(async (job) => void seen.push(what(job)), { concurrency: 1 });
      const celeryId = '6f1c1b52-3c43-4b6e-9d1e-1c2b7f0e9a11';
      // As kombu/py-amqp publish `app.send_task('scrape.images', args=[task_id], queue=...)`.
      publishRaw(JSON.stringify([['py-task-1'], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
        priority: 0,
        correlationId: celeryId,
        replyTo: '0d7b1f4a-52b2-3d5e-8a44-2e7a4c1f5e3b',
        headers: {
          lang: 'py',
          task: 'scrape.images',
          id: celeryId,
          shadow: null,
          eta: null,
          expires: null,
          group: null,
          group_index: null,
          retries: 0,
          timelimit: [null, null],
          root_id: celeryId,
          parent_id: null,
          argsrepr: "['py-task-1']",
          kwargsrepr: '{}',
          origin: 'gen4242@ml-box',
          ignore_result: false,
          replaced_task_nesting: 0,
          stamped_headers: null,
          stamps: {},
        },
      });
      // Protocol v1 (Celery 3 / celery-node TASK_PROTOCOL 1) and the task id as a keyword argument.
      publishRaw(JSON.stringify({ task: 'scrape.text', id: 'v1-id', args: ['py-task-2'], kwargs: {} }), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
      });
      publishRaw(JSON.stringify([[], { task_id: 'py-task-3' }, {}]), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: { lang: 'py', task: 'scrape.text', id: 'kw-id' },
      });
      await until(() => seen.length === 3, 10_000, 'three Celery messages');
      expect(seen).toEqual([
        { taskId: 'py-task-1', kind: 'images' },
        { taskId: 'py-task-2', kind: 'text' },
        { taskId: 'py-task-3', kind: 'text' },
      ]);
    });

    it('interoperates with celery-node: its Client dispatches to us, its Worker runs what we dispatch', async () => {
      const queue = open();
      const seen: Job[] = [];
      await queue.consume(async (job) => void seen.push(what(job)), { concurrency: 1 });
      const client = celery.createClient(amqpUrl, amqpUrl, queueName);
      client.sendTask('scrape.text', ['from-celery-node']);
      await until(() => seen.length === 1, 10_000, 'the celery-node message');
      expect(seen).toEqual([{ taskId: 'from-celery-node', kind: 'text' }]);
      await client.disconnect();
      await queue.close();

      const worker = celery.createWorker(amqpUrl, amqpUrl, queueName);
      // A result backend that stores nothing (celery-node's AMQP backend would declare a queue per task).
      Object.assign(worker, {
        _backend: { isReady: async () => {}, disconnect: async () => {}, storeResult: async () => {}, getTaskMeta: async () => ({}) },
      });
      const received: unknown[][] = [];
      worker.register('scrape.images', (...args: unknown[]) => void received.push(args));
      // celery-node logs every task with console.info.
      const info = console.info;
      console.info = () => {};
      try {
        void worker.start();
        const sender = open();
        await sender.dispatch({ taskId: 'to-celery-node', kind: 'images' });
        await until(() => received.length === 1, 10_000, 'celery-node worker to run our message');
        expect(received[0]).toEqual(['to-celery-node', {}]);
      } finally {
        await worker.disconnect();
        console.info = info;
      }
    });

    it('retries a job whose handler threw after a delay, behind the jobs queued meanwhile', async () => {
      const queue = open({ retry: { maxAttempts: 5, backoff: { strategy: 'fixed', minMs: 300, maxMs: 300 } } });
      const runs: Array<{ taskId: string; at: number }> = [];
      await queue.consume(
        async (job) => {
          runs.push({ taskId: job.taskId, at: Date.now() });
          if (runs.length === 1) throw new Error(`store down while running ${job.taskId}`);
        },
        { concurrency: 1 },
      );
      await queue.dispatch({ taskId: 'flaky', kind: 'text' });
      await queue.dispatch({ taskId: 'other', kind: 'text' });
      await until(() => runs.length === 3, 10_000, 'three runs');
      expect(runs.map((r) => r.taskId)).toEqual(['flaky', 'other', 'flaky']);
      expect((runs[1] as { at: number }).at - (runs[0] as { at: number }).at).toBeGreaterThanOrEqual(280);
      await tick(200);
      expect(runs).toHaveLength(3);
      expect((await adminCh.checkQueue(queueName)).messageCount).toBe(0);
    });

    it('reconnects after losing RabbitMQ and consumes what was sent meanwhile', async () => {
      const proxy = await TcpProxy.start(amqpUrl);
      try {
        const worker = open({ amqpUrl: proxy.url });
        const seen: string[] = [];
        await worker.consume(async (job) => void seen.push(job.taskId), { concurrency: 2 });
        const sender = open();
        await sender.dispatch({ taskId: 'before', kind: 'text' });
        await until(() => seen.length === 1, 10_000, 'first job');
        proxy.cut();
        for (let i = 0; i < 3; i++) await sender.dispatch({ taskId: `during-${i}`, kind: 'text' });
        await tick(500); // several failed reconnect attempts
        expect(seen).toEqual(['before']);
        proxy.restore();
        // 'before' may come twice: its ack can be lost with the connection (at-least-once).
        await until(() => new Set(seen).size === 4, 10_000, 'jobs after reconnect');
        expect([...new Set(seen)].sort()).toEqual(['before', 'during-0', 'during-1', 'during-2']);
      } finally {
        await proxy.close();
      }
    });

    it('retries a dispatch while RabbitMQ is unreachable, and throws once its bound is spent', async () => {
      const proxy = await TcpProxy.start(amqpUrl);
      try {
        proxy.cut();
        const sender = open({ amqpUrl: proxy.url, dispatchTimeoutMs: 5_000 });
        const started = Date.now();
        const pending = sender.dispatch({ taskId: 'patient', kind: 'text' });
        await tick(400);
        proxy.restore();
        await pending;
        expect(Date.now() - started).toBeGreaterThanOrEqual(400);
        const seen: string[] = [];
        await open().consume(async (job) => void seen.push(job.taskId), { concurrency: 1 });
        await until(() => seen.length === 1, 10_000, 'the patient job');

        proxy.cut();
        const hopeless = open({ amqpUrl: proxy.url, dispatchTimeoutMs: 600 });
        const t0 = Date.now();
        await expect(hopeless.dispatch({ taskId: 'lost', kind: 'text' })).rejects.toThrow(/could not dispatch task lost/);
        expect(Date.now() - t0).toBeLessThan(3_000);
      } finally {
        await proxy.close();
      }
    });

    it('close is idempotent, returns promptly while reconnecting, and refuses later work', async () => {
      const proxy = await TcpProxy.start(amqpUrl);
      try {
        const queue = open({ amqpUrl: proxy.url, reconnect: { minMs: 5_000, maxMs: 5_000 } });
        await queue.consume(async () => {}, { concurrency: 1 });
        proxy.cut();
        await tick(100);
        const t0 = Date.now();
        await Promise.all([queue.close(), queue.close()]);
        await queue.close();
        expect(Date.now() - t0).toBeLessThan(2_000);
        await expect(queue.dispatch({ taskId: 'late', kind: 'text' })).rejects.toThrow('closed');
        await expect(queue.consume(async () => {}, { concurrency: 1 })).rejects.toThrow('closed');
      } finally {
        await proxy.close();
      }
    });
  });
});
