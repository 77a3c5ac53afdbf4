/** The Express app factory: no I/O of its own, everything arrives through the ports. One middleware per concern. */
import express, { type Express } from 'express';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { BlobStore } from '../storage/blob-store.js';
import { allowOnly } from './allow-only.js';
import { batchesRouter } from './batches-router.js';
import { chain } from './chain.js';
import { exportsRouter } from './exports-router.js';
import { errorHandler } from './error-handler.js';
import { imagesTasksRouter } from './images-router.js';
import { openApiDocument } from './openapi.js';
import { defaultOpsOptions, opsLayer, type OpsOptions } from './ops-layer.js';
import { unknownRoute } from './problem.js';
import { mediaRouter, type MediaSource } from './media-router.js';
import { noSniff } from './security-headers.js';
import { requestLog } from './request-log.js';
import { jsonBody } from './json-body.js';
import { textTasksRouter } from './text-router.js';
import { taskReadRoute } from './tasks-router.js';
import type { AddressPolicy } from '../scrape/address-guard.js';
import { WebhookEvents } from '../webhooks/events.js';
import type { StoreFeeder } from '../queue/store-feeder.js';

export interface AppDeps {
  store: TaskStore;
  queue: JobQueue;
  blobs: BlobStore;
  log: Logger;
  /** Where /media/ comes from: standalone serves it itself; in a cluster nginx serves the volume (or asks here, for S3). */
  media?: MediaSource;
  /** Batch and export limits (config.datasets). */
  datasets?: { batchMaxUrls: number; shardSamples: number; shardBytes: number; exportStaleMs: number };
  /** The SSRF guard's policy, applied to webhook URLs at submission; default: refuse private addresses. */
  addressPolicy?: AddressPolicy;
  /** API keys, rate limits, stats, metrics (default: all off). */
  ops?: OpsOptions;
  /** Express "trust proxy": whose X-Forwarded-For is believed. */
  trustProxy?: boolean | number | string;
  /** Standalone: feeds batch and crawl tasks from the store to the bounded in-process queue. */
  feeder?: StoreFeeder;
}

const DATASET_DEFAULTS = { batchMaxUrls: 1_000_000, shardSamples: 10_000, shardBytes: 512 * 1024 * 1024, exportStaleMs: 60_000 };

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? 'loopback, uniquelocal');
  app.set('query parser', 'simple');
  const ops = opsLayer(deps.store, deps.ops ?? defaultOpsOptions);
  app.use(chain([noSniff, requestLog(deps.log, (url) => url === '/health'), ...ops.before]));
  const addressPolicy = deps.addressPolicy ?? { allowPrivate: false, allowCidrs: [] };
  // The task routes first: they take most requests, and each layer passed on the way costs a match (their
  // POST parses its own JSON body). A GET of one task, the commonest, is routed here without a mounted router.
  app.get('/text_tasks/:id', taskReadRoute('text', deps.store));
  app.get('/images_tasks/:id', taskReadRoute('images', deps.store));
  app.use('/text_tasks', textTasksRouter({ ...deps, addressPolicy }));
  app.use('/images_tasks', imagesTasksRouter({ ...deps, addressPolicy }));
  // Before the 64 kB JSON parser: a batch body is larger (JSON) or streamed (NDJSON).
  const events = new WebhookEvents(deps.store);
  app.use('/batches', batchesRouter({ ...deps, ...(deps.datasets ?? DATASET_DEFAULTS), addressPolicy, events }));
  app.use(jsonBody);
  app
    .route('/health')
    .get(async (_req, res) => {
      await deps.store.getTask('health-probe');
      res.json({ status: 'ok' });
    })
    .all(allowOnly('GET'));
  app
    .route('/openapi.json')
    .get((_req, res) => void res.json(openApiDocument))
    .all(allowOnly('GET'));
  app.use(ops.routes);
  app.use(exportsRouter({ ...deps, ...(deps.datasets ?? DATASET_DEFAULTS) }));
  if (deps.media) app.use('/media', mediaRouter(deps.media), allowOnly('GET'));
  app.use(unknownRoute);
  app.use(errorHandler(deps.log));
  return app;
}
