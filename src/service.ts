/**
 * The composition root: builds adapters from config once; nothing below asks which mode it runs in.
 * Roles: `serve` (API + worker in one process), `api`, `worker`.
 * Adapters: MONGO_URL → MongoDB, else SQLite in DATA_DIR; AMQP_URL → RabbitMQ (Celery protocol), else in-process;
 * BLOB_STORE=s3 → the S3 bucket, else DATA_DIR/media.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app.js';
import type { MediaSource } from './api/media-router.js';
import { ConfigError, type Config } from './config.js';
import { carriesToken } from './ops/api-key.js';
import { UsageCounter } from './ops/usage-counter.js';
import { registry, telemetry } from './ops/telemetry.js';
import { MemoryTokenBuckets, SharedTokenBuckets } from './ops/token-bucket.js';
import type { Logger } from './logger.js';
import { openSqliteTaskStore } from './models/sqlite/sqlite-task-store.js';
import type { TaskStore } from './models/task-store.js';
import { startDispatchSweeper, withDispatchReceipts, type DispatchSweeper } from './queue/dispatch-sweeper.js';
import { InlineQueue } from './queue/inline-queue.js';
import { StoreFeeder } from './queue/store-feeder.js';
import type { JobQueue } from './queue/job-queue.js';
import { createFetcher, type Fetcher } from './scrape/fetcher.js';
import { inlineExtractor, threadedExtractor, type PageExtractor } from './scrape/page-extractor.js';
import { inlineHasher, threadedHasher, type ImageHasher } from './scrape/image-hasher.js';
import { HostLimiter } from './scrape/host-limiter.js';
import { ProxyPool } from './scrape/proxy-pool.js';
import { OriginFiles } from './scrape/rights/origin-files.js';
import { RightsReader } from './scrape/rights/rights-reader.js';
import { rightsTokens } from './scrape/rights/tokens.js';
import { userAgentToken } from './scrape/robots.js';
import type { BlobStore } from './storage/blob-store.js';
import { VolumeBlobStore } from './storage/volume-blob-store.js';
import { RecentPages } from './worker/recent-pages.js';
import { createTaskRunner, TaskInterruptedError } from './worker/task-runner.js';
import { createCrawlStep, type JobSink } from './worker/crawl-step.js';
import { warmUp } from './worker/warm-up.js';
import { startWebhookDispatcher } from './webhooks/dispatcher.js';
import { EXPORT_INTERRUPTED } from './models/export-liveness.js';
import { WebhookEvents } from './webhooks/events.js';
import { createWebhookSender } from './webhooks/sender.js';
import sharp from 'sharp';

export interface RunningService {
  /** Base URL of the API, when this role serves it. */
  url?: string;
  store: TaskStore;
  queue: JobQueue;
  /** Stops taking work, drains running tasks (up to the grace period), closes everything. */
  close(): Promise<void>;
}

interface Adapters {
  store: TaskStore;
  queue: JobQueue;
  blobs: BlobStore;
  media: MediaSource;
  closeBlobs(): void;
  sweeper?: DispatchSweeper;
  /** Standalone: feeds the in-process queue from the store (batches and crawls larger than the queue). */
  feeder?: StoreFeeder;
}

/*
 * The cluster adapters (mongoose, amqplib, the AWS SDK) are imported only when configured: loaded
 * statically they were ~60 MB of a standalone process's memory that it never used.
 */

/** The blob store, checked before anything else opens: a wrong bucket or key stops the start with a clear message. */
async function openBlobs(config: Config): Promise<Pick<Adapters, 'blobs' | 'media' | 'closeBlobs'>> {
  if (config.s3) {
    const { S3BlobStore, S3ConfigError } = await import('./storage/s3-blob-store.js');
    const s3 = new S3BlobStore({ ...config.s3, publicBaseUrl: config.publicMediaUrl ?? '/media' });
    try {
      await s3.verify();
    } catch (err) {
      s3.close();
      throw err instanceof S3ConfigError ? new ConfigError(`invalid configuration:\n  ${err.message}`) : err;
    }
    const presign = config.s3.presign ? (key: string) => s3.presignedUrl(key) : undefined;
    return { blobs: s3, media: { kind: 'store', blobs: s3, presign }, closeBlobs: () => s3.close() };
  }
  fs.mkdirSync(config.mediaDir, { recursive: true });
  const blobs = new VolumeBlobStore(config.mediaDir, config.publicMediaUrl ?? '/media');
  return { blobs, media: { kind: 'dir', dir: config.mediaDir }, closeBlobs: () => undefined };
}

async function openAdapters(config: Config, log: Logger): Promise<Adapters> {
  const blobs = await openBlobs(config);
  const store = config.mongoUrl ? await (await import('./models/mongo/mongo-task-store.js')).openMongoTaskStore(config.mongoUrl) : openSqliteTaskStore(config.sqliteFile);
  const createCeleryQueue = config.amqpUrl ? (await import('./queue/celery/celery-queue.js')).createCeleryQueue : undefined;
  const queue = config.amqpUrl && createCeleryQueue
    ? withDispatchReceipts(
      createCeleryQueue({ amqpUrl: config.amqpUrl, queueName: config.queueName, log, connectionName: `scrapeds-${config.role}`, retry: config.retry }),
      store,
      log,
    )
    : new InlineQueue(config.queueCapacity, (job, err) => {
        if (!(err instanceof TaskInterruptedError)) log.error({ err, taskId: job.taskId }, 'job handler failed');
      }, config.retry);
  // The RabbitMQ outbox: every process sweeps (see dispatch-sweeper.ts); the embedded queue resumes from the store instead.
  const sweeper = config.amqpUrl ? startDispatchSweeper({ store, queue, log, olderThanMs: config.dispatchSweepMs }) : undefined;
  const feeder = queue instanceof InlineQueue ? new StoreFeeder(store.feed, queue, log) : undefined;
  return { store, queue, ...blobs, sweeper, feeder };
}

/**
 * The name this worker holds task leases under. The embedded queue's process owns its data directory, so
 * it keeps one name across restarts and takes back what it was running at once; cluster workers differ.
 */
function leaseOwner(config: Config): string {
  return config.amqpUrl ? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}` : `embedded:${config.sqliteFile}`;
}

/** Where the crawl step sends the jobs of admitted pages: the feeder standalone, else the broker (the sweeper covers a failure). */
function jobSink({ queue, feeder }: Adapters, log: Logger): JobSink {
  if (feeder) return { submit: async () => feeder.poke() };
  return {
    async submit(jobs) {
      await Promise.all(jobs.map((job) => queue.dispatch(job).catch((err: unknown) => log.warn({ err, taskId: job.taskId }, 'crawl page not dispatched; the dispatch sweeper will'))));
    },
  };
}

function startWorker(config: Config, log: Logger, adapters: Adapters, shutdown: AbortSignal): { fetcher: Fetcher; extractor: PageExtractor; hasher: ImageHasher; webhooks: { close(): Promise<void> }; ready: Promise<void> } {
  const { store, queue, blobs, feeder } = adapters;
  const extractor = config.parseThreads > 0
    ? threadedExtractor({ threads: config.parseThreads, timeoutMs: config.parseTimeoutMs, maxWaiting: config.parseQueue, maxDepth: config.parseMaxDepth })
    : inlineExtractor({ maxDepth: config.parseMaxDepth });
  // PARSE_THREADS=0 keeps all CPU work on the main thread (tests run from sources, where threads cannot load them).
  // libvips' operation cache (50 MB by default) keeps results for a repeat of the same operation on the same
  // input, which never comes here (each image is decoded once); it only held memory. Process-wide.
  sharp.cache(false);
  const hasher = config.parseThreads > 0 ? threadedHasher({ concurrency: config.imageConcurrency * config.workerConcurrency }) : inlineHasher;
  const f = config.fetch;
  const fetcher = createFetcher({
    userAgent: f.userAgent,
    connectTimeoutMs: f.connectTimeoutMs,
    connectionsPerOrigin: f.perHostConcurrency,
    policy: { allowPrivate: f.allowPrivateNetworks, allowCidrs: f.allowCidrs },
    hostLimiter: new HostLimiter({ concurrency: f.perHostConcurrency, minDelayMs: f.perHostDelayMs }),
    robots: f.respectRobotsTxt ? {} : undefined,
    retry: { retries: f.retries, retryAfterMaxMs: f.retryAfterMaxMs },
    proxies: f.proxyUrls.length
      ? new ProxyPool({ urls: f.proxyUrls, rotateAfterMs: f.proxyRotateAfterMs, connectTimeoutMs: f.connectTimeoutMs, connectionsPerOrigin: f.perHostConcurrency, log })
      : undefined,
    log,
  });
  const { policy, aiCrawlerTokens } = config.rights;
  const rights = policy === 'off' ? undefined : { policy, reader: new RightsReader(new OriginFiles({ fetcher }), rightsTokens(userAgentToken(f.userAgent), aiCrawlerTokens)) };
  const pageLimits = { timeoutMs: config.fetch.timeoutMs, maxBytes: config.fetch.maxPageBytes, maxRedirects: config.fetch.maxRedirects };
  const runner = createTaskRunner({
    store,
    blobs,
    log,
    shutdown,
    events: new WebhookEvents(store),
    crawl: createCrawlStep({ store, fetcher, sink: jobSink(adapters, log), log, limits: pageLimits }),
    taskTimeoutMs: config.fetch.taskTimeoutMs,
    lease: { owner: leaseOwner(config), ms: config.taskLeaseMs },
    maxAttempts: config.retry.maxAttempts,
    pages: { fetcher, extractor, recent: new RecentPages(config.pageReuse), ...pageLimits, rights },
    hasher,
    images: {
      concurrency: config.imageConcurrency,
      maxBytes: config.fetch.maxImageBytes,
      maxPerPage: config.fetch.maxImagesPerPage,
      claimStaleMs: config.claimStaleMs,
    },
  });
  const w = config.webhooks;
  const webhooks = startWebhookDispatcher({
    store,
    log,
    sender: createWebhookSender({ policy: { allowPrivate: f.allowPrivateNetworks, allowCidrs: f.allowCidrs }, timeoutMs: w.timeoutMs, userAgent: f.userAgent }),
    schedule: w.schedule,
    pollMs: w.pollMs,
    leaseMs: w.timeoutMs * 3,
    concurrency: w.concurrency,
  });
  const ready = (async () => {
    // The embedded queue keeps nothing across restarts; the store knows what was queued or running.
    await feeder?.start();
    // A cluster worker takes messages only once warm; the embedded default serves its API at once and loads on
    // first use (an images-only job there never loads the language tables: the 100k-URL RSS budget).
    if (config.role === 'worker') await warmUp({ extractor, hasher }, log);
    await queue.consume(runner.handle, { concurrency: config.workerConcurrency, onDeadLetter: runner.onDeadLetter });
    log.info({ concurrency: config.workerConcurrency }, 'worker consuming');
  })();
  return { fetcher, extractor, hasher, webhooks, ready };
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

async function startHttp(config: Config, log: Logger, adapters: Adapters, usage: UsageCounter): Promise<{ server: http.Server; url: string }> {
  const o = config.ops;
  if (o.auth === 'off' && !LOOPBACK.test(config.host)) {
    log.warn({ host: config.host }, '!!! AUTH=off on a non-loopback address: anyone who can reach this port can submit tasks, read every result and see usage. Set AUTH=keys and ADMIN_API_KEY for a shared deployment. !!!');
  }
  const app = createApp({
    ...adapters,
    log,
    datasets: config.datasets,
    addressPolicy: { allowPrivate: config.fetch.allowPrivateNetworks, allowCidrs: config.fetch.allowCidrs },
    trustProxy: o.trustProxy,
    ops: {
      auth: { mode: o.auth, adminKey: o.adminKey, publicMedia: o.publicMedia, cacheMs: o.keyCacheMs },
      rateRules: o.rateRules,
      // API replicas share their buckets through MongoDB; a standalone process keeps them in memory.
      buckets: adapters.store.rateCells ? new SharedTokenBuckets(adapters.store.rateCells) : new MemoryTokenBuckets(),
      metricsKey: o.metricsKey,
      flushUsage: () => usage.flush(),
    },
  });
  const server = http.createServer(app);
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
  log.info({ url, role: config.role, dataDir: config.dataDir, store: config.mongoUrl ? 'mongodb' : 'sqlite', blobs: config.blobStore, queue: config.amqpUrl ? 'rabbitmq' : 'inline' }, 'listening');
  return { server, url };
}

/** A worker has no API: it serves its own /metrics on METRICS_PORT for Prometheus. */
async function startMetricsServer(config: Config, log: Logger): Promise<http.Server> {
  const key = config.ops.metricsKey;
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    if (key && !carriesToken(req.headers.authorization, key)) return void res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.ops.metricsPort, config.host, resolve);
  });
  log.info({ port: (server.address() as AddressInfo).port }, 'metrics listening');
  return server;
}

/**
 * Exports run in the API process that started them. Standalone, one process owns the SQLite file, so an
 * export it finds running died with the process before it: failed, so clients stop waiting and start
 * another. In a cluster another API replica may be building it, so they are left alone there.
 */
async function failInterruptedExports(config: Config, log: Logger, store: TaskStore): Promise<void> {
  if (config.mongoUrl || config.role !== 'serve') return;
  const failed = await store.batches.failRunningExports(EXPORT_INTERRUPTED);
  if (failed > 0) log.warn({ exports: failed }, 'exports left running by a stopped service marked failed');
}

export async function startService(config: Config, log: Logger): Promise<RunningService> {
  const adapters = await openAdapters(config, log);
  await failInterruptedExports(config, log, adapters.store);
  const usage = new UsageCounter(adapters.store.usage, log);
  telemetry.setUsageSink((metric, dims, n) => usage.add(metric, dims, n));
  usage.start(config.ops.statsFlushMs);
  const queue = adapters.queue;
  telemetry.setQueueDepth(queue instanceof InlineQueue ? () => queue.size : undefined);
  const shutdown = new AbortController();
  const worker = config.role === 'api' ? undefined : startWorker(config, log, adapters, shutdown.signal);
  await worker?.ready;
  const http = config.role === 'worker' ? undefined : await startHttp(config, log, adapters, usage);
  const metricsServer = config.role === 'worker' && config.ops.metricsPort > 0 ? await startMetricsServer(config, log) : undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const stopped = http && new Promise<void>((resolve) => http.server.close(() => resolve()));
      http?.server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownGraceMs, 'timeout').unref());
      await adapters.sweeper?.stop();
      await adapters.feeder?.stop();
      const drained = adapters.queue.close();
      if ((await Promise.race([drained, grace])) === 'timeout') {
        log.warn({ graceMs: config.shutdownGraceMs }, 'tasks still running at shutdown; they resume at the next start');
        shutdown.abort();
        await drained;
      }
      http?.server.closeAllConnections();
      await stopped;
      await worker?.webhooks.close();
      await worker?.fetcher.close();
      await worker?.extractor.close();
      await worker?.hasher.close();
      metricsServer?.close();
      // After the drain, so the counts of the last tasks are written too.
      await usage.close();
      telemetry.setUsageSink(undefined);
      await adapters.store.close();
      adapters.closeBlobs();
    })());
  return { url: http?.url, store: adapters.store, queue: adapters.queue, close };
}
