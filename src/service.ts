/**
 * The composition root: builds adapters from config once; nothing below asks which mode it runs in.
 * Roles: `serve` (API + worker in one process), `api`, `worker`.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { openSqliteTaskStore } from './models/sqlite/sqlite-task-store.js';
import type { TaskStore } from './models/task-store.js';
import { InlineQueue } from './queue/inline-queue.js';
import type { JobQueue } from './queue/job-queue.js';
import { createFetcher } from './scrape/fetcher.js';
import { VolumeBlobStore } from './storage/volume-blob-store.js';
import { createTaskRunner } from './worker/task-runner.js';

export interface RunningService {
  /** Base URL of the API, when this role serves it. */
  url?: string;
  store: TaskStore;
  queue: JobQueue;
  /** Stops taking work, drains running tasks (up to the grace period), closes everything. */
  close(): Promise<void>;
}

export async function startService(config: Config, log: Logger): Promise<RunningService> {
  if (config.mongoUrl || config.amqpUrl || config.role !== 'serve') {
    throw new Error('cluster mode (MONGO_URL, AMQP_URL, ROLE=api|worker) is not available in this build yet; unset them to run standalone');
  }
  fs.mkdirSync(config.mediaDir, { recursive: true });
  const store = openSqliteTaskStore(config.sqliteFile);
  const queue = new InlineQueue(config.queueCapacity, (job, err) => log.error({ err, taskId: job.taskId }, 'job handler failed'));
  const blobs = new VolumeBlobStore(config.mediaDir, config.publicMediaUrl ?? '/media');
  const fetcher = createFetcher({
    userAgent: config.fetch.userAgent,
    connectTimeoutMs: config.fetch.connectTimeoutMs,
    policy: { allowPrivate: config.fetch.allowPrivateNetworks, allowCidrs: config.fetch.allowCidrs },
  });
  const shutdown = new AbortController();
  const runner = createTaskRunner({
    store,
    shutdown: shutdown.signal,
    blobs,
    log,
    taskTimeoutMs: config.fetch.taskTimeoutMs,
    pages: { fetcher, timeoutMs: config.fetch.timeoutMs, maxBytes: config.fetch.maxPageBytes, maxRedirects: config.fetch.maxRedirects },
    images: {
      concurrency: config.imageConcurrency,
      maxBytes: config.fetch.maxImageBytes,
      maxPerPage: config.fetch.maxImagesPerPage,
      claimStaleMs: config.claimStaleMs,
    },
  });

  // Durability of the embedded queue: whatever was queued or running when the last process stopped.
  const unfinished = await store.listUnfinished();
  for (const task of unfinished) await queue.dispatch({ taskId: task.id, kind: task.kind });
  if (unfinished.length) log.info({ count: unfinished.length }, 'resuming unfinished tasks');
  await queue.consume(runner, { concurrency: config.workerConcurrency });

  const app = createApp({ store, queue, blobs, log, mediaDir: config.mediaDir });
  const server = http.createServer(app);
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
  log.info({ url, dataDir: config.dataDir }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownGraceMs, 'timeout').unref());
      const drained = queue.close();
      if ((await Promise.race([drained, grace])) === 'timeout') {
        log.warn({ graceMs: config.shutdownGraceMs }, 'tasks still running at shutdown; they resume at the next start');
        shutdown.abort();
        await drained;
      }
      server.closeAllConnections();
      await stopped;
      await fetcher.close();
      await store.close();
    })());
  return { url, store, queue, close };
}
