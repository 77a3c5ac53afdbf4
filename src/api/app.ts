/** The Express app factory: no I/O of its own, everything arrives through the ports. */
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { BlobStore } from '../storage/blob-store.js';
import { imagesTasksRouter } from './images-router.js';
import { openApiDocument } from './openapi.js';
import { defaultOpsOptions, opsLayer, type OpsOptions } from './ops-layer.js';
import { errorHandler, unknownRoute } from './problem.js';
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

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? 'loopback, uniquelocal');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: deps.log,
      autoLogging: { ignore: (req) => req.url === '/health' },
      // One short line per request: full header dumps made logging a large share of a cheap GET.
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  const ops = opsLayer(deps.store, deps.ops ?? defaultOpsOptions);
  app.use(ops.before);
  app.use(express.json({ limit: '64kb', strict: false }));

  app.get('/health', async (_req, res) => {
    await deps.store.getTask('health-probe');
    res.json({ status: 'ok' });
  });
  app.get('/openapi.json', (_req, res) => void res.json(openApiDocument));
  app.use(ops.routes);
  app.use('/text_tasks', textTasksRouter(deps));
  app.use('/images_tasks', imagesTasksRouter(deps));
  if (deps.mediaDir) {
    // Files are content-addressed, so they never change: cache them for good.
    app.use('/media', express.static(deps.mediaDir, { index: false, dotfiles: 'ignore', immutable: true, maxAge: '365d', fallthrough: true }));
  }
  app.use(unknownRoute);
  app.use(errorHandler(deps.log));
  return app;
}
