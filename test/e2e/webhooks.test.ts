/** Webhooks of batches and tasks: signed deliveries, retries with backoff, no duplicate after success, durable across a restart. */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { pino } from 'pino';
import { createApp } from '../../src/api/app.js';
import { checkWebhookTarget } from '../../src/api/webhook-input.js';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { InlineQueue } from '../../src/queue/inline-queue.js';
import { VolumeBlobStore } from '../../src/storage/volume-blob-store.js';
import { serveDatasetSite, waitForBatch, type DatasetSite } from '../helpers/batches.js';
import { startTestService, submit, tempDir, waitForTask, type TestService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';
import { startWebhookReceiver, verify, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';

const FAST = { WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_POLL_MS: '50', FETCH_RETRIES: '0' };

interface ApiDelivery { id: string; event: string; status: string; attempts: number; last_status: number | null }

/** Polls the batch's deliveries until none is pending. */
async function settledDeliveries(base: string, batchId: string, timeoutMs = 20_000): Promise<ApiDelivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(base).get(`/batches/${batchId}/webhooks`).query({ limit: 1000 }).expect(200);
    const items = res.body.items as ApiDelivery[];
    if (items.length > 0 && items.every((d) => d.status !== 'pending')) return items;
    if (Date.now() > deadline) throw new Error(`deliveries still pending: ${JSON.stringify(items)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const waitUntil = async (check: () => boolean, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

function describeWebhooks(name: string, env: () => Record<string, string>): void {
  describe(name, () => {
    let site: FixtureSite;
    let data: DatasetSite;
    let hook: WebhookReceiver;
    let svc: TestService;

    beforeAll(async () => {
      site = await startFixtureSite();
      data = serveDatasetSite(site);
      hook = await startWebhookReceiver();
      svc = await startTestService({ ...FAST, ...env() });
    }, 60_000);
    afterAll(async () => {
      await svc?.close();
      await hook?.close();
      await site?.close();
    });

    it('sends signed batch events (started, each task finished, completed) once each, retrying a failed attempt', async () => {
      hook.fail(500, 'first');
      const res = await request(svc.url).post('/batches')
        .send({ urls: [...data.pages, site.url('/broken')], kinds: ['text'], webhook: { url: hook.url, secret: hook.secret } }).expect(202);
      expect(res.body.webhook).toEqual({ url: hook.url, events: [], secret: hook.secret });
      const batchId = res.body.id as string;
      await waitForBatch(svc.url, batchId, 60_000);
      const deliveries = await settledDeliveries(svc.url, batchId);

      expect(deliveries.map((d) => d.event).sort()).toEqual(['batch.completed', 'batch.started', ...Array(4).fill('batch.task_finished')]);
      // Every delivery failed once (500), was retried, and then taken (204): two attempts, never a third.
      expect(deliveries.every((d) => d.status === 'delivered' && d.attempts === 2 && d.last_status === 204)).toBe(true);
      const mine = hook.received.filter((r) => deliveries.some((d) => d.id === r.id));
      expect(mine.every((r) => r.verified)).toBe(true);
      expect(mine.map((r) => r.answered).sort()).toEqual([...Array(6).fill(204), ...Array(6).fill(500)]);
      for (const d of deliveries) expect(mine.filter((r) => r.id === d.id).map((r) => r.answered)).toEqual([500, 204]);

      const completed = mine.find((r) => r.event.type === 'batch.completed');
      expect(completed?.event.data).toMatchObject({ id: batchId, status: 'completed', counts: { succeeded: 3, failed: 1, finished: 4 } });
      expect(Math.abs((completed?.timestamp ?? 0) * 1000 - Date.now())).toBeLessThan(5 * 60_000);
      const failedTask = mine.find((r) => r.event.type === 'batch.task_finished' && (r.event.data.task as { status: string }).status === 'failed');
      expect(failedTask?.event.data).toMatchObject({ batch_id: batchId, task: { url: site.url('/broken'), error: { code: 'http_error' } } });

      // Delivered means done: a few more poll rounds bring nothing new.
      const count = hook.received.length;
      await new Promise((r) => setTimeout(r, 500));
      expect(hook.received.length).toBe(count);
    });

    it('sends only the chosen events; a service-made secret comes back once and signs them', async () => {
      hook.succeed();
      const res = await request(svc.url).post('/batches').set('content-type', 'application/x-ndjson')
        .query({ kinds: 'text', webhook_url: hook.url, webhook_events: 'batch.completed' })
        .send(`${JSON.stringify({ url: data.pages[0] })}\n`).expect(202);
      expect(res.body.webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const deliveries = await settledDeliveries(svc.url, res.body.id);
      expect(deliveries.map((d) => d.event)).toEqual(['batch.completed']);
      const got = hook.received.filter((r) => r.id === deliveries[0]?.id);
      expect(got).toHaveLength(1);
      expect(got[0]?.verified).toBe(false); // signed with the service's secret, not the receiver's default
      expect(verify(res.body.webhook.secret, got[0]?.headers ?? {}, got[0]?.body ?? '')).toBe(true);
      const list = await request(svc.url).get(`/batches/${res.body.id}/webhooks`).expect(200);
      expect(list.body.endpoint).toEqual({ url: hook.url, events: ['batch.completed'] });
      expect(JSON.stringify(list.body)).not.toContain(res.body.webhook.secret);
    });

    it('sends a single task\'s events (started, completed)', async () => {
      hook.succeed();
      const before = hook.received.length;
      const location = await submit(svc.url, 'text', data.pages[1] as string, { webhook: { url: hook.url, secret: hook.secret } });
      await waitForTask(svc.url, location);
      await waitUntil(() => hook.received.length - before >= 2, 'task.started and task.completed');
      // Deliveries are not ordered (every process sends, several at a time): their timestamps order them.
      const got = hook.received.slice(before).sort((a, b) => Date.parse(a.event.timestamp) - Date.parse(b.event.timestamp));
      expect(got.map((r) => r.event.type)).toEqual(['task.started', 'task.completed']);
      expect(got.every((r) => r.verified)).toBe(true);
      expect(got[1]?.event.data).toMatchObject({ id: location.split('/').pop(), status: 'succeeded', url: data.pages[1] });
    });
  });
}

describeWebhooks('webhooks, standalone (SQLite, in-process queue)', () => ({}));

describeWithService('MONGO_URL', 'webhooks on MongoDB', (mongoUrl) => {
  describeWithService('AMQP_URL', 'and RabbitMQ', (amqpUrl) => {
    describeWebhooks('cluster adapters', () => {
      const db = new URL(mongoUrl);
      db.pathname = `/scrapeds_webhooks_${randomBytes(4).toString('hex')}`;
      return { MONGO_URL: db.toString(), AMQP_URL: amqpUrl, QUEUE_NAME: `scrapeds-webhooks-${randomBytes(4).toString('hex')}` };
    });
  });
});

describe('webhook deliveries survive a restart', () => {
  it('keeps retrying after the service restarts on the same data, and delivers once the endpoint answers', async () => {
    const site = await startFixtureSite();
    const data = serveDatasetSite(site);
    const hook = await startWebhookReceiver();
    const dataDir = tempDir();
    let svc = await startTestService(FAST, dataDir);
    try {
      hook.fail(503, 'always');
      const res = await request(svc.url).post('/batches').send({ urls: [data.pages[0]], webhook: { url: hook.url, secret: hook.secret, events: ['batch.completed'] } }).expect(202);
      await waitForBatch(svc.url, res.body.id);
      await waitUntil(() => hook.received.length >= 2, 'two failed attempts');
      await svc.close();

      hook.succeed();
      const seen = hook.received.length;
      svc = await startTestService(FAST, dataDir);
      const [d] = await settledDeliveries(svc.url, res.body.id);
      expect(d).toMatchObject({ event: 'batch.completed', status: 'delivered', last_status: 204 });
      expect(d?.attempts).toBeGreaterThanOrEqual(3);
      expect(hook.received.slice(seen).map((r) => r.answered)).toEqual([204]);
      expect(new Set(hook.received.map((r) => r.id)).size).toBe(1);
    } finally {
      await svc.close();
      await hook.close();
      await site.close();
    }
  });
});

describe('the SSRF guard on webhook URLs', () => {
  const store = openSqliteTaskStore(':memory:');
  const app = createApp({ store, queue: new InlineQueue(10), blobs: new VolumeBlobStore(tempDir(), '/media'), log: pino({ level: 'silent' }), addressPolicy: { allowPrivate: false, allowCidrs: [] } });
  afterAll(() => store.close());

  const expectRefused = (res: request.Response, field: string) => {
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field, message: expect.stringContaining('refused by the SSRF guard') }]);
  };

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook'],
    ['cloud metadata', 'http://169.254.169.254/latest'],
    ['private IPv6', 'http://[fd00::1]/hook'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/hook'],
    ['a name for loopback', 'http://localhost:8080/hook'],
  ])('refuses a webhook to %s at POST, naming the field, and stores nothing', async (_what, url) => {
    expectRefused(await request(app).post('/batches').send({ urls: ['https://example.com/'], webhook: { url } }), 'webhook.url');
    expectRefused(await request(app).post('/batches').set('content-type', 'application/x-ndjson').query({ webhook_url: url }).send('{"url":"https://example.com/"}\n'), 'webhook_url');
    expectRefused(await request(app).post('/text_tasks').send({ url: 'https://example.com/', webhook: { url } }), 'webhook.url');
    expect((await request(app).get('/batches').expect(200)).body.items).toEqual([]);
    expect((await request(app).get('/text_tasks').expect(200)).body.items).toEqual([]);
  });

  it('judges every address a name resolves to (resolver stubbed: no DNS, no connection)', async () => {
    const policy = { allowPrivate: false, allowCidrs: [] };
    await expect(checkWebhookTarget('https://hooks.example.test/x', policy, 'webhook.url', async () => ['93.184.216.34', '10.1.2.3'])).rejects.toMatchObject({ status: 400, errors: [{ field: 'webhook.url' }] });
    await expect(checkWebhookTarget('https://hooks.example.test/x', policy, 'webhook.url', async () => ['93.184.216.34'])).resolves.toBeUndefined();
    await expect(checkWebhookTarget('https://hooks.example.test/x', { allowPrivate: false, allowCidrs: ['10.1.0.0/16'] }, 'webhook.url', async () => ['10.1.2.3'])).resolves.toBeUndefined();
    await expect(checkWebhookTarget('http://127.0.0.1/x', { allowPrivate: true, allowCidrs: [] }, 'webhook.url', async () => { throw new Error('not called'); })).resolves.toBeUndefined();
  });

  it('refuses a malformed secret or an unknown event, naming the field', async () => {
    const res = await request(app).post('/batches').send({ urls: ['https://example.com/'], webhook: { url: 'https://hooks.example.com/x', secret: 'plain', events: ['batch.exploded'] } }).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['webhook.events.0', 'webhook.secret']);
  });
});
