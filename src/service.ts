/**
 * The composition root: builds adapters from config once; nothing below asks which mode it runs in.
 * Roles: `serve` (API + worker in one process), `api`, `worker`.
 * Adapters: MONGO_URL → MongoDB, else SQLite in DATA_DIR; AMQP_URL → RabbitMQ (Celery protocol), else in-process.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app.js';
import { carriesToken } from './ops/api-key.js';
import { UsageCounter } from './ops/usage-counter.js';
import { registry, telemetry } from './ops/telemetry.js';
import { MemoryTokenBuckets, SharedTokenBuckets } from './ops/token-bucket.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { openMongoTaskStore } from './models/mongo/mongo-task-store.js';
import { openSqliteTaskStore } from './models/sqlite/sqlite-task-store.js';
import type { TaskStore } from './models/task-store.js';
import { createCeleryQueue } from './queue/celery/celery-queue.js';
import { InlineQueue } from './queue/inline-queue.js';
import type { JobQueue } from './queue/job-queue.js';
import { createFetcher, type Fetcher } from './scrape/fetcher.js';
import { inlineExtractor, threadedExtractor, type PageExtractor } from './scrape/page-extractor.js';
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
}

async function openAdapters(config: Config, log: Logger): Promise<Adapters> {
  fs.mkdirSync(config.mediaDir, { recursive: true });
  const store = config.mongoUrl ? await openMongoTaskStore(config.mongoUrl) : openSqliteTaskStore(config.sqliteFile);
  const queue = config.amqpUrl
    ? createCeleryQueue({ amqpUrl: config.amqpUrl, queueName: config.queueName, log, connectionName: `scrapeds-${config.role}` })
    : new InlineQueue(config.queueCapacity, (job, err) => {
        if (!(err instanceof TaskInterruptedError)) log.error({ err, taskId: job.taskId }, 'job handler failed');
      });
  const blobs = new VolumeBlobStore(config.mediaDir, config.publicMediaUrl ?? '/media');
  return { store, queue, blobs };
}

function startWorker(config: Config, log: Logger, { store, queue, blobs }: Adapters, shutdown: AbortSignal): { fetcher: Fetcher; extractor: PageExtractor; ready: Promise<void> } {
  const extractor = config.parseThreads > 0
    ? threadedExtractor({ threads: config.parseThreads, timeoutMs: config.parseTimeoutMs, maxWaiting: config.parseQueue, maxDepth: config.parseMaxDepth })
    : inlineExtractor({ maxDepth: config.parseMaxDepth });
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
  const runner = createTaskRunner({
    store,
    blobs,
    log,
    shutdown,
    taskTimeoutMs: config.fetch.taskTimeoutMs,
    pages: { fetcher, extractor, recent: new RecentPages(config.pageReuse), timeoutMs: config.fetch.timeoutMs, maxBytes: config.fetch.maxPageBytes, maxRedirects: config.fetch.maxRedirects, rights },
    images: {
      concurrency: config.imageConcurrency,
      maxBytes: config.fetch.maxImageBytes,
      maxPerPage: config.fetch.maxImagesPerPage,
      claimStaleMs: config.claimStaleMs,
    },
  });
  const ready = (async () => {
    if (queue instanceof InlineQueue) {
      // The embedded queue keeps nothing across restarts; the store knows what was queued or running.
      const unfinished = await store.listUnfinished();
      for (const task of unfinished) await queue.dispatch({ taskId: task.id, kind: task.kind });
      if (unfinished.length) log.info({ count: unfinished.length }, 'resuming unfinished tasks');
    }
    await queue.consume(runner, { concurrency: config.workerConcurrency });
    log.info({ concurrency: config.workerConcurrency }, 'worker consuming');
  })();
  return { fetcher, extractor, ready };
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
    mediaDir: config.mediaDir,
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
  log.info({ url, role: config.role, dataDir: config.dataDir, store: config.mongoUrl ? 'mongodb' : 'sqlite', queue: config.amqpUrl ? 'rabbitmq' : 'inline' }, 'listening');
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

export async function startService(config: Config, log: Logger): Promise<RunningService> {
  const adapters = await openAdapters(config, log);
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
      const drained = adapters.queue.close();
      if ((await Promise.race([drained, grace])) === 'timeout') {
        log.warn({ graceMs: config.shutdownGraceMs }, 'tasks still running at shutdown; they resume at the next start');
        shutdown.abort();
        await drained;
      }
      http?.server.closeAllConnections();
      await stopped;
      await worker?.fetcher.close();
      await worker?.extractor.close();
      metricsServer?.close();
      // After the drain, so the counts of the last tasks are written too.
      await usage.close();
      telemetry.setUsageSink(undefined);
      await adapters.store.close();
    })());
  return { url: http?.url, store: adapters.store, queue: adapters.queue, close };
}
