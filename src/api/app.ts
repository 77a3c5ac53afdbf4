/** The Express app factory: no I/O of its own, everything arrives through the ports. One middleware per concern. */
import express, { type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { BlobStore } from '../storage/blob-store.js';
import { allowOnly } from './allow-only.js';
import { errorHandler } from './error-handler.js';
import { imagesTasksRouter } from './images-router.js';
import { openApiDocument } from './openapi.js';
import { defaultOpsOptions, opsLayer, type OpsOptions } from './ops-layer.js';
import { unknownRoute } from './problem.js';
import { noSniff, storedFileHeaders } from './security-headers.js';
import { textTasksRouter } from './text-router.js';

export interface AppDeps {
  store: TaskStore;
  queue: JobQueue;
  blobs: BlobStore;
  log: Logger;
  /** Standalone mode serves the media directory itself at /media/; in a cluster nginx does. */
  mediaDir?: string;
  /** API keys, rate limits, stats, metrics (default: all off). */
  ops?: OpsOptions;
  /** Express "trust proxy": whose X-Forwarded-For is believed. */
  trustProxy?: boolean | number | string;
}

/** One short line per request, at error level only for the server's own failures. */
function requestLog(log: Logger): RequestHandler {
  return pinoHttp({
    logger: log,
    autoLogging: { ignore: (req) => req.url === '/health' },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    // Full header dumps made logging a large share of a cheap GET.
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url.slice(0, 512), remoteAddress: req.remoteAddress }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}

/** Stored files are content-addressed, so they never change: cached for good, and served as inert. */
function mediaFiles(mediaDir: string): RequestHandler {
  return express.static(mediaDir, {
    index: false,
    dotfiles: 'ignore',
    immutable: true,
    maxAge: '365d',
    fallthrough: true,
    setHeaders: (res, file) => res.set(storedFileHeaders({ fileName: file })),
  });
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? 'loopback, uniquelocal');
  app.set('query parser', 'simple');
  app.use(noSniff);
  app.use(requestLog(deps.log));
  const ops = opsLayer(deps.store, deps.ops ?? defaultOpsOptions);
  app.use(ops.before);
  app.use(express.json({ limit: '64kb', strict: false }));

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
  app.use('/text_tasks', textTasksRouter(deps));
  app.use('/images_tasks', imagesTasksRouter(deps));
  if (deps.mediaDir) app.use('/media', mediaFiles(deps.mediaDir), allowOnly('GET'));
  app.use(unknownRoute);
  app.use(errorHandler(deps.log));
  return app;
}
