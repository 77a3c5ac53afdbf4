/**
 * Cluster mode end to end, with real parts: nginx with the repo's config in front of 2 API processes,
 * 2 worker processes, MongoDB (FerretDB in tests) and RabbitMQ. In test/serial/ because it restarts
 * the shared RabbitMQ node; ./test.sh runs this folder after the parallel suites.
 */
import { exec } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import amqplib from 'amqplib';
import { encodeCeleryTask } from '../../src/queue/celery/celery-message.js';
import { listDeadLetters } from '../../src/queue/celery/dead-letters.js';
import { startNginx, type RunningNginx } from '../helpers/nginx.js';
import { spawnService, stopAllServices, type ServiceProcess } from '../helpers/processes.js';
import { createTestBucket, type TestBucket } from '../helpers/s3.js';
import { describeWithService, isCI } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp.js';

const TASKS = 200;
const IMAGE_POOL = 30;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Cluster {
  url: string;
  dataDir: string;
  /** The configuration every process of it got. */
  common: Record<string, string>;
  apis: ServiceProcess[];
  workers: ServiceProcess[];
  nginx: RunningNginx;
  close(): Promise<void>;
}

async function startCluster(mongoUrl: string, amqpUrl: string, env: Record<string, string> = {}): Promise<Cluster> {
  // BLOB_STORE=s3: no file reaches the volume, so nginx hands /media/ to the API, which streams from the bucket.
  const mediaFromApi = env.BLOB_STORE === 's3';
  const dataDir = tempDir('scrapeds-cluster-');
  fs.mkdirSync(path.join(dataDir, 'media'));
  const db = new URL(mongoUrl);
  db.pathname = `/scrapeds_cluster_${randomBytes(4).toString('hex')}`;
  const common = {
    MONGO_URL: db.toString(),
    AMQP_URL: amqpUrl,
    QUEUE_NAME: `scrapeds-cluster-${randomBytes(4).toString('hex')}`,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    ALLOW_PRIVATE_NETWORKS: 'true', // the fixture site is on loopback
    WORKER_CONCURRENCY: '4',
    CLAIM_STALE_MS: '3000',
    SHUTDOWN_GRACE_MS: '5000',
    ...env,
  };
  const apis = [spawnService({ ...common, ROLE: 'api' }), spawnService({ ...common, ROLE: 'api' })];
  const workers = [spawnService({ ...common, ROLE: 'worker' }, 'worker consuming'), spawnService({ ...common, ROLE: 'worker' }, 'worker consuming')];
  const all = [...apis, ...workers];
  try {
    const urls = (await Promise.all(apis.map((a) => a.ready))) as string[];
    await Promise.all(workers.map((w) => w.ready));
    const nginx = await startNginx({ mediaRoot: path.join(dataDir, 'media'), upstreams: urls.map((u) => new URL(u).host), mediaFromApi });
    return {
      url: nginx.url,
      dataDir,
      common,
      apis,
      workers,
      nginx,
      close: async () => {
        await nginx.close();
        await Promise.all(all.map((p) => p.stop('SIGTERM')));
      },
    };
  } catch (err) {
    await Promise.all(all.map((p) => p.stop('SIGKILL')));
    throw err;
  }
}

/**
 * Pages p/0..n: even ones for text tasks, odd ones with 3 images from a shared pool (so tasks reuse and join);
 * pages 0 … slowPages.count - 1 answer after slowPages.ms.
 */
function buildSite(site: FixtureSite, imageDelayMs: number, slowPages = { count: 0, ms: 0 }): Map<string, Buffer> {
  const images = new Map<string, Buffer>();
  for (let i = 0; i < IMAGE_POOL; i++) {
    const body = png(4 + (i % 5), 3, 1000 + i);
    images.set(site.url(`/pool/${i}.png`), body);
    site.route(`/pool/${i}.png`, async (_req, res) => {
      await new Promise((r) => setTimeout(r, imageDelayMs));
      res.writeHead(200, { 'content-type': 'image/png' }).end(body);
    });
  }
  site.route('/p', async (req, res) => {
    const n = Number(new URL(req.url ?? '', 'http://x').searchParams.get('n'));
    if (n < slowPages.count) await new Promise((r) => setTimeout(r, slowPages.ms));
    const imgs = [0, 1, 2].map((k) => `<img src="/pool/${(n * 7 + k * 11) % IMAGE_POOL}.png">`).join('');
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><h1>Page ${n}</h1><p>text of page ${n}</p>${imgs}</body></html>`);
  });
  return images;
}

async function submitAll(base: string, site: FixtureSite): Promise<string[]> {
  const locations: string[] = [];
  for (let n = 0; n < TASKS; n++) {
    const kind = n % 2 ? 'images' : 'text';
    const res = await request(base).post(`/${kind}_tasks`).send({ url: site.url(`/p?n=${n}`) }).expect(202);
    locations.push(res.headers.location as string);
  }
  return locations;
}

async function waitAllFinal(base: string, locations: string[], timeoutMs: number): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, Record<string, unknown>>();
  while (done.size < locations.length) {
    for (const loc of locations) {
      if (done.has(loc)) continue;
      const res = await request(base).get(loc).expect(200);
      if (res.body.status === 'succeeded' || res.body.status === 'failed') done.set(loc, res.body);
    }
    if (done.size < locations.length) {
      if (Date.now() > deadline) throw new Error(`${locations.length - done.size} tasks not final after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return locations.map((l) => done.get(l) as Record<string, unknown>);
}

const finishedBy = (w: ServiceProcess) => new Set(w.lines.filter((l) => l.msg === 'task finished').map((l) => l.taskId as string));

/** The stored image files' names (sha256.ext) in the media volume. */
const filesOnVolume = (cluster: Cluster) => async () =>
  fs
    .readdirSync(path.join(cluster.dataDir, 'media/images'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => d.name);

/** Every image source URL maps to one image id and one file; the store holds each sha256 once. */
async function expectEachImageStoredOnce(cluster: Cluster, locations: string[], originals: Map<string, Buffer>, stored = filesOnVolume(cluster)) {
  const idsBySource = new Map<string, Set<string>>();
  for (const loc of locations.filter((l) => l.startsWith('/images_tasks/'))) {
    const res = await request(cluster.url).get(`${loc}/images`).query({ limit: 100 }).expect(200);
    for (const img of res.body.items as Array<{ id: string; source_url: string; url: string; sha256: string; outcome: string }>) {
      expect(img.outcome).not.toBe('failed');
      (idsBySource.get(img.source_url) ?? idsBySource.set(img.source_url, new Set()).get(img.source_url)!).add(img.id);
      expect(img.sha256).toBe(sha256(originals.get(img.source_url)!));
    }
  }
  for (const ids of idsBySource.values()) expect(ids.size).toBe(1);
  const files = (await stored()).map((name) => name.split('.')[0]);
  expect(new Set(files).size).toBe(files.length);
  expect(files.length).toBe(idsBySource.size);
}

describeWithService('MONGO_URL', 'cluster mode', (mongoUrl) => {
  describeWithService('AMQP_URL', 'cluster mode over RabbitMQ', (amqpUrl) => {
    let site: FixtureSite;
    let cluster: Cluster | undefined;
    beforeAll(async () => {
      site = await startFixtureSite();
    });
    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
    });
    afterAll(async () => {
      await stopAllServices();
      await site.close();
    });

    it(`runs ${TASKS} tasks through nginx, 2 APIs and 2 workers sharing the load`, async () => {
      const originals = buildSite(site, 5);
      cluster = await startCluster(mongoUrl, amqpUrl);
      const locations = await submitAll(cluster.url, site);
      const tasks = await waitAllFinal(cluster.url, locations, 120_000);
      expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);

      // Both API replicas answered through nginx, and both workers did a fair share.
      const served = cluster.apis.map((a) => a.lines.filter((l) => (l.req as { method?: string } | undefined)?.method === 'POST').length);
      for (const n of served) expect(n).toBeGreaterThan(TASKS * 0.3);
      await new Promise((r) => setTimeout(r, 600)); // the workers flush buffered log lines every 250 ms
      // Each worker warmed up (parse and hashing threads, language tables) before it took a message.
      for (const w of cluster.workers) {
        const msgs = w.lines.map((l) => l.msg);
        expect(msgs.indexOf('worker warmed up')).toBeGreaterThanOrEqual(0);
        expect(msgs.indexOf('worker warmed up')).toBeLessThan(msgs.indexOf('worker consuming'));
        expect(w.lines.find((l) => l.msg === 'worker warmed up')).toMatchObject({ language: 'en' });
      }
      const shares = cluster.workers.map((w) => finishedBy(w).size / TASKS);
      for (const share of shares) {
        expect(share).toBeGreaterThanOrEqual(0.35);
        expect(share).toBeLessThanOrEqual(0.65);
      }

      // Images read through nginx's /media/ are the source bytes.
      const first = locations.find((l) => l.startsWith('/images_tasks/'))!;
      const listing = await request(cluster.url).get(`${first}/images`).expect(200);
      expect(listing.body.items).toHaveLength(3);
      for (const img of listing.body.items as Array<{ url: string; source_url: string }>) {
        expect(img.url).toMatch(/^\/media\/images\//);
        const file = await request(cluster.url).get(img.url).responseType('blob').expect(200).expect('content-type', 'image/png');
        expect(Buffer.compare(file.body as Buffer, originals.get(img.source_url)!)).toBe(0);
      }
      await expectEachImageStoredOnce(cluster, locations, originals);
    });

    it('finishes every task when a worker is killed with SIGKILL mid-run, storing no image twice', async () => {
      // The first 60 pages (those at work when the victim is killed) answer after 500 ms, more than the victim's
      // log lags behind (up to 250 ms, below): a task seen started and then running is still running when the
      // kill lands a few ms later. With fast tasks only, a fresh-machine CI run killed a victim whose task had
      // just ended, and no task was redone.
      const originals = buildSite(site, 40, { count: 60, ms: 500 });
      cluster = await startCluster(mongoUrl, amqpUrl);
      // Killed while the tasks are still being submitted: waiting for the whole submission first let a fast
      // pair of workers finish nearly everything, so the victim sometimes died with nothing in flight.
      const submitted = submitAll(cluster.url, site);
      const victim = cluster.workers[1]!;
      // Killed while it holds a task the store shows running: its log lines arrive up to 250 ms late, so a task it
      // logged as started may be final by then, and a kill between tasks would leave nothing to take over.
      // If none shows running within 3 s of its fifth finish (its tasks ending faster than its log arrives), it is
      // killed anyway, as before: the loop must end.
      let held: string | undefined;
      let killAt = Infinity;
      while (!held) {
        await new Promise((r) => setTimeout(r, 20));
        if (finishedBy(victim).size < 5) continue;
        if (killAt === Infinity) killAt = Date.now() + 3000;
        if (Date.now() > killAt) {
          await victim.stop('SIGKILL');
          break;
        }
        const done = finishedBy(victim);
        const started = victim.lines.filter((l) => l.msg === 'task started' && !done.has(l.taskId as string));
        for (const l of started.reverse()) {
          const res = await request(cluster.url).get(`/${l.kind as string}_tasks/${l.taskId as string}`);
          if (res.status === 200 && res.body.status === 'running') {
            await victim.stop('SIGKILL');
            held = l.taskId as string;
            break;
          }
        }
      }
      const survivorAtKill = finishedBy(cluster.workers[0]!).size;
      const locations = await submitted;
      const tasks = await waitAllFinal(cluster.url, locations, 180_000);
      expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);
      // The survivor went on alone, and took over what the victim held unacknowledged when it died
      // (the victim's own log may lose its last lines to SIGKILL, so the count is read from the tasks).
      expect(finishedBy(cluster.workers[0]!).size).toBeGreaterThan(survivorAtKill);
      const redone = tasks.filter((t) => (t.attempts as number) > 1);
      expect(redone.length).toBeGreaterThan(0);
      // The task it held when it died was taken over (unless it finished in the instant between the read and the kill).
      if (held) expect(tasks.find((t) => t.id === held)?.status).toBe('succeeded');
      await expectEachImageStoredOnce(cluster, locations, originals);
    });

    describeWithService('S3_ENDPOINT', 'with the files in S3', (endpoint) => {
      let bucket: TestBucket;
      beforeAll(async () => void (bucket = await createTestBucket(endpoint, 'scrapeds-cluster')));
      afterAll(async () => bucket?.remove());

      it(`runs ${TASKS} tasks with each image stored once in the bucket, served through nginx`, async () => {
        const originals = buildSite(site, 5);
        cluster = await startCluster(mongoUrl, amqpUrl, { BLOB_STORE: 's3', S3_BUCKET: bucket.name, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true' });
        const locations = await submitAll(cluster.url, site);
        const tasks = await waitAllFinal(cluster.url, locations, 180_000);
        expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);
        await new Promise((r) => setTimeout(r, 600)); // the workers flush buffered log lines every 250 ms
        for (const w of cluster.workers) expect(finishedBy(w).size).toBeGreaterThan(0);
        expect(fs.readdirSync(path.join(cluster.dataDir, 'media'))).toEqual([]);

        const first = locations.find((l) => l.startsWith('/images_tasks/'))!;
        const listing = await request(cluster.url).get(`${first}/images`).expect(200);
        for (const img of listing.body.items as Array<{ url: string; source_url: string }>) {
          expect(img.url).toMatch(/^\/media\/images\//);
          const file = await request(cluster.url).get(img.url).responseType('blob').expect(200).expect('content-type', 'image/png');
          expect(Buffer.compare(file.body as Buffer, originals.get(img.source_url)!)).toBe(0);
        }
        const inBucket = async () => {
          const names: string[] = [];
          let token: string | undefined;
          do {
            const page = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'images/', ContinuationToken: token }));
            names.push(...(page.Contents ?? []).map((o) => path.basename(o.Key!)));
            token = page.NextContinuationToken;
          } while (token);
          return names;
        };
        await expectEachImageStoredOnce(cluster, locations, originals, inBucket);
      });
    });

    describe('failure semantics', () => {
      const env = {
        MAX_ATTEMPTS: '3', RETRY_BACKOFF_MS: '300', RETRY_BACKOFF_MAX_MS: '300', TASK_LEASE_MS: '3000', DISPATCH_SWEEP_MS: '2000',
      };
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const task = async (location: string) => (await request(cluster!.url).get(location).expect(200)).body as Record<string, unknown>;
      const startedBy = (taskId: string) => cluster!.workers.find((w) => w.lines.some((l) => l.msg === 'task started' && l.taskId === taskId));
      const servePng = (route: string, body: Buffer) => site.route(route, (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(body));
      const servePage = (route: string, html: string, delayMs = 0) => site.route(route, async (_req, res) => {
        await sleep(delayMs);
        res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      });
      /** A file where the image's content-addressed directory must go: storing it fails (a real crash, even as root). */
      const block = (image: Buffer): string => {
        const blocker = path.join(cluster!.dataDir, 'media/images', sha256(image).slice(0, 2));
        fs.mkdirSync(path.dirname(blocker), { recursive: true });
        fs.writeFileSync(blocker, 'not a directory');
        return blocker;
      };

      it('dispatches a task whose API was killed between the insert and the publish, once, and every task of a batch\'s page', async () => {
        cluster = await startCluster(mongoUrl, amqpUrl, env);
        const proxy = await TcpProxy.start(amqpUrl);
        try {
          proxy.cut(); // this API reaches the store but not RabbitMQ: its dispatch retries until we kill it
          const doomed = spawnService({ ...cluster.common, ROLE: 'api', AMQP_URL: proxy.url });
          const doomedUrl = (await doomed.ready) as string;
          const url = site.url(`/orphan-${randomBytes(3).toString('hex')}.html`);
          servePage(new URL(url).pathname, '<p>orphan</p>');
          void request(doomedUrl).post('/text_tasks').send({ url }).then(() => {}, () => {});
          // A batch's page is one message (its text task's, naming the images task): never sent, so neither task has one.
          const image = png(6, 6, randomBytes(2).readUInt16BE(0));
          const imageRoute = `/orphan-image-${randomBytes(3).toString('hex')}.png`;
          servePng(imageRoute, image);
          const pageUrl = site.url(`/orphan-page-${randomBytes(3).toString('hex')}.html`);
          servePage(new URL(pageUrl).pathname, `<p>orphan page</p><img src="${imageRoute}">`);
          void request(doomedUrl).post('/batches').send({ urls: [pageUrl], kinds: ['text', 'images'] }).then(() => {}, () => {});
          const find = async (kind: string, of: string) => {
            const list = await request(cluster!.url).get(`/${kind}_tasks`).query({ limit: 50 }).expect(200);
            return (list.body.items as Array<Record<string, unknown>>).find((t) => t.url === of);
          };
          let orphans: Array<Record<string, unknown> | undefined> = [];
          while (orphans.length === 0 || orphans.some((t) => !t)) {
            orphans = [await find('text', url), await find('text', pageUrl), await find('images', pageUrl)];
            if (orphans.some((t) => !t)) await sleep(20);
          }
          await doomed.stop('SIGKILL');
          const [orphan, pageText, pageImages] = orphans as Array<Record<string, unknown>>;
          expect(orphans.map((t) => t!.status)).toEqual(['queued', 'queued', 'queued']);
          const [final, text, images] = await waitAllFinal(cluster.url, [
            `/text_tasks/${orphan!.id as string}`, `/text_tasks/${pageText!.id as string}`, `/images_tasks/${pageImages!.id as string}`,
          ], 60_000);
          expect(final).toMatchObject({ status: 'succeeded', attempts: 1 });
          expect(site.hits(new URL(url).pathname)).toBe(1);
          expect(text).toMatchObject({ status: 'succeeded', attempts: 1 });
          expect(images).toMatchObject({ status: 'succeeded', attempts: 1, counts: { found: 1, stored: 1 } });
          expect(site.hits(imageRoute)).toBe(1);
        } finally {
          await proxy.close();
        }
      });

      it('retries a task whose handler failed, and dead-letters a poison task after MAX_ATTEMPTS', async () => {
        cluster = await startCluster(mongoUrl, amqpUrl, env);
        const flakyImage = png(7, 5, 4242);
        const poisonImage = png(8, 5, 4343);
        servePng('/flaky.png', flakyImage);
        servePng('/poison.png', poisonImage);
        servePage('/flaky.html', '<img src="/flaky.png">');
        servePage('/poison.html', '<img src="/poison.png">');
        const blocker = block(flakyImage);
        block(poisonImage);
        const flaky = (await request(cluster.url).post('/images_tasks').send({ url: site.url('/flaky.html') }).expect(202)).headers.location as string;
        const poison = (await request(cluster.url).post('/images_tasks').send({ url: site.url('/poison.html') }).expect(202)).headers.location as string;

        // The crashed attempt gives the task back to the queue: queued with the reason, never left running.
        let between: Record<string, unknown> | undefined;
        for (const deadline = Date.now() + 30_000; !between && Date.now() < deadline; await sleep(10)) {
          const t = await task(flaky);
          if (t.status === 'queued' && (t.attempts as number) >= 1) between = t;
        }
        expect(between).toMatchObject({ status: 'queued', error: { code: 'storage_error' } });
        fs.rmSync(blocker);
        const [fixed, dead] = await waitAllFinal(cluster.url, [flaky, poison], 60_000);
        expect(fixed).toMatchObject({ status: 'succeeded', error: null });
        expect(dead).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'attempts_exhausted' } });
        expect((dead!.error as { message: string }).message).toMatch(/^gave up after 3 attempts; the last failed with storage_error/);
        // One fetch per attempt, never two at once: the image was never stored, so each attempt had to fetch it.
        expect(site.hits('/poison.png')).toBe(3);
        let letters: Awaited<ReturnType<typeof listDeadLetters>> = [];
        for (const deadline = Date.now() + 10_000; letters.length === 0 && Date.now() < deadline; await sleep(100)) {
          letters = await listDeadLetters(amqpUrl, cluster.common.QUEUE_NAME!);
        }
        expect(letters).toEqual([expect.objectContaining({ taskName: 'scrape.images', taskId: dead!.id, reason: 'attempts_exhausted' })]);
      });

      it('keeps a long task with its worker while it renews the lease, and hands a killed worker\'s task over once', async () => {
        cluster = await startCluster(mongoUrl, amqpUrl, env);
        const images = [0, 1, 2].map((i) => png(3 + i, 3, 5000 + i));
        images.forEach((body, i) => servePng(`/long/${i}.png`, body));
        const html = images.map((_, i) => `<img src="/long/${i}.png">`).join('');
        servePage('/long-a.html', html, 8_000); // well past two lease periods
        servePage('/long-b.html', html.replaceAll('/long/', '/long/b'), 8_000);
        images.forEach((body, i) => servePng(`/long/b${i}.png`, body));

        // 1. A duplicate delivery of a running task is left to its holder (acked at once) instead of running it a second time.
        const a = (await request(cluster.url).post('/images_tasks').send({ url: site.url('/long-a.html') }).expect(202)).body as { id: string };
        while (site.hits('/long-a.html') === 0) await sleep(20);
        const conn = await amqplib.connect(amqpUrl);
        try {
          const ch = await conn.createConfirmChannel();
          const duplicate = encodeCeleryTask({ taskId: a.id, kind: 'images' });
          await new Promise<void>((resolve, reject) => ch.sendToQueue(cluster!.common.QUEUE_NAME!, duplicate.content, duplicate.options, (err: unknown) => (err ? reject(err) : resolve())));
        } finally {
          await conn.close();
        }
        const [doneA] = await waitAllFinal(cluster.url, [`/images_tasks/${a.id}`], 60_000);
        expect(doneA).toMatchObject({ status: 'succeeded', attempts: 1 });
        expect(site.hits('/long-a.html')).toBe(1);
        for (let i = 0; i < 3; i++) expect(site.hits(`/long/${i}.png`)).toBe(1);

        // 2. Its worker dies mid-task: the other takes the task over once the lease runs out, fetching each image once.
        const b = (await request(cluster.url).post('/images_tasks').send({ url: site.url('/long-b.html') }).expect(202)).body as { id: string };
        while (site.hits('/long-b.html') === 0) await sleep(20);
        let holder = startedBy(b.id);
        while (!holder) {
          await sleep(50);
          holder = startedBy(b.id);
        }
        await holder.stop('SIGKILL');
        const [doneB] = await waitAllFinal(cluster.url, [`/images_tasks/${b.id}`], 60_000);
        expect(doneB).toMatchObject({ status: 'succeeded', attempts: 2 });
        expect(site.hits('/long-b.html')).toBe(2); // the first fetch died with its worker
        for (let i = 0; i < 3; i++) expect(site.hits(`/long/b${i}.png`)).toBe(1);
      });
    });

    const ctl = process.env.RABBITMQ_CTL;
    if (!ctl && isCI()) throw new Error('RABBITMQ_CTL not set: run ./test.sh, which sets it to control the test RabbitMQ node');
    if (!ctl) console.warn('Skipping the RabbitMQ restart test: RABBITMQ_CTL not set (./test.sh sets it).');
    (ctl ? it : it.skip)('workers reconnect and finish when RabbitMQ restarts mid-run', async () => {
      buildSite(site, 20);
      cluster = await startCluster(mongoUrl, amqpUrl);
      const locations = await submitAll(cluster.url, site);
      while (cluster.workers.reduce((n, w) => n + finishedBy(w).size, 0) < 20) await new Promise((r) => setTimeout(r, 20));
      const run = (args: string) => promisify(exec)(`${ctl} ${args}`, { timeout: 60_000 });
      await run('stop_app');
      await new Promise((r) => setTimeout(r, 1500));
      await run('start_app');
      const tasks = await waitAllFinal(cluster.url, locations, 180_000);
      expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);
      for (const w of cluster.workers) expect(w.child.exitCode).toBeNull();
      expect(cluster.workers.every((w) => finishedBy(w).size > 0)).toBe(true);
    });
  });
});
