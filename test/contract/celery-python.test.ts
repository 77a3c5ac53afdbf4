/**
 * Interop with real Python Celery 5 (the venv of scripts/python-venv.sh, SCRAPEDS_PYTHON): a Python app
 * send_task()s to the service's queue and the service runs the tasks to the end; a Python Celery worker
 * on a queue the service publishes to runs our messages. The celery-node interop is in job-queue.rabbitmq.test.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { pino } from 'pino';
import { png } from '../fixtures/images.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { createCeleryQueue } from '../../src/queue/celery/celery-queue.js';
import { startTestService, waitForTask, type TestService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';

const peer = path.resolve(import.meta.dirname, '../python/celery_peer.py');
const run = promisify(execFile);

describeWithService('AMQP_URL', 'Celery interop with Python', (amqpUrl) => {
  describeWithService('SCRAPEDS_PYTHON', 'Python Celery 5', (python) => {
    let site: FixtureSite;
    const queues: string[] = [];
    const newQueue = () => {
      const name = `scrapeds-py-${process.pid}-${randomBytes(3).toString('hex')}`;
      queues.push(name, `${name}.dead`);
      return name;
    };
    beforeAll(async () => {
      site = await startFixtureSite();
      site.serve('/py.html', '<html><head><title>From Python</title></head><body><p>sent by celery</p><img src="/py.png"></body></html>', 'text/html');
      site.route('/py.png', (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(png(4, 4, 99)));
    });
    afterAll(async () => {
      await site.close();
      const conn = await amqplib.connect(amqpUrl);
      const ch = await conn.createChannel();
      for (const q of queues) {
        await ch.deleteQueue(q);
        await ch.deleteExchange(q).catch(() => {});
      }
      await conn.close();
    });

    it("runs the tasks a Python app sends with send_task('scrape.text' / 'scrape.images', args=[task_id])", async () => {
      const queue = newQueue();
      // The sweeper would dispatch these tasks itself after DISPATCH_SWEEP_MS: make sure it is Python's messages that run.
      const svc: TestService = await startTestService({ AMQP_URL: amqpUrl, QUEUE_NAME: queue, DISPATCH_SWEEP_MS: '3600000' });
      try {
        // Tasks whose own message was lost: they exist in the store and nothing is queued for them.
        const text = await svc.store.createTask({ kind: 'text', url: site.url('/py.html'), refresh: false });
        const images = await svc.store.createTask({ kind: 'images', url: site.url('/py.html'), refresh: false });
        for (const [name, id] of [['scrape.text', text.id], ['scrape.images', images.id]]) {
          const { stdout } = await run(python, [peer, 'send', amqpUrl, queue, name!, id!], { timeout: 60_000 });
          expect(JSON.parse(stdout)).toMatchObject({ sent: name, task_id: id });
        }
        const doneText = await waitForTask(svc.url, `/text_tasks/${text.id}`, 30_000);
        const doneImages = await waitForTask(svc.url, `/images_tasks/${images.id}`, 30_000);
        expect(doneText).toMatchObject({ status: 'succeeded', attempts: 1 });
        expect(doneImages).toMatchObject({ status: 'succeeded', attempts: 1, counts: { found: 1, stored: 1 } });
        expect(await svc.store.getText(text.id)).toMatch(/^From Python\n\nsent by celery/);
      } finally {
        await svc.close();
      }
    });

    it('has a Python Celery worker run the messages the service publishes', async () => {
      const queue = newQueue();
      const out = path.join(tempDir('scrapeds-celery-py-'), 'received.jsonl');
      const sender = createCeleryQueue({ amqpUrl, queueName: queue, log: pino({ enabled: false }) });
      // Published before the worker starts: the service declared the queue, the message waits in it.
      await sender.dispatch({ taskId: 'for-python-1', kind: 'images' });
      await sender.dispatch({ taskId: 'for-python-2', kind: 'text' });
      const worker = spawn(python, [peer, 'worker', amqpUrl, queue, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        const deadline = Date.now() + 60_000;
        const lines = () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : []);
        while (lines().length < 2) {
          if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`the Python worker ran ${lines().length} of 2 tasks: ${stderr.slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(lines().map((l) => JSON.parse(l) as unknown)).toEqual([
          { task: 'scrape.images', args: ['for-python-1'], kwargs: {} },
          { task: 'scrape.text', args: ['for-python-2'], kwargs: {} },
        ]);
      } finally {
        worker.kill('SIGTERM');
        await new Promise((r) => (worker.exitCode === null ? worker.once('exit', r) : r(null)));
        await sender.close();
      }
    });
  });
});
