/** POST /batches/:id/exports starts a dataset export of a finished batch; GET /exports/:id follows it. */
import { Router } from 'express';
import { z } from 'zod';
import { runExport } from '../datasets/exporter.js';
import type { Logger } from '../logger.js';
import { unfinishedCount } from '../models/batch-progress.js';
import { EXPORT_FORMATS, type ExportOptions, type ExportRecord } from '../models/batch.js';
import { EXPORT_INTERRUPTED, isExportInterrupted } from '../models/export-liveness.js';
import type { TaskStore } from '../models/task-store.js';
import type { TaskKind } from '../models/task.js';
import type { BlobStore } from '../storage/blob-store.js';
import { presentExport } from './batch-presenters.js';
import { callerOf, canSee } from './auth.js';
import { imagesVariantInput, nearDuplicatesInput } from './export-input.js';
import { loadBatch } from './batches-router.js';
import { notFound, ProblemError } from './problem.js';
import { parse } from './validation.js';

export interface ExportsDeps {
  store: TaskStore;
  blobs: BlobStore;
  log: Logger;
  shardSamples: number;
  shardBytes: number;
  /** EXPORT_STALE_MS: see export-liveness.ts. */
  exportStaleMs: number;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

const exportBody = (d: ExportsDeps) => z.strictObject(
  {
    format: z.enum(EXPORT_FORMATS as [string, ...string[]], { error: (i) => (i.input === undefined ? 'is required' : `must be one of ${EXPORT_FORMATS.join(', ')}`) }),
    shard_samples: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(10_000_000, 'must be at most 10000000').default(d.shardSamples),
    shard_bytes: z.number({ error: 'must be a number' }).int('must be an integer').min(1024, 'must be at least 1024').default(d.shardBytes),
    include_images: z.boolean({ error: 'must be a boolean' }).default(false),
    kinds: z.array(z.enum(['text', 'images'], { error: 'must be text or images' })).min(1, 'must name at least one kind').optional(),
    images: imagesVariantInput,
    near_duplicates: nearDuplicatesInput,
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be a JSON object') },
);

export function exportsRouter(deps: ExportsDeps): Router {
  const router = Router();
  /** Exports still building in this process (they run in the background of the request that started them). */
  const running = new Set<Promise<void>>();

  router.post('/batches/:id/exports', async (req, res) => {
    if (!req.is('application/json')) {
      throw new ProblemError(415, 'Unsupported Media Type', 'send the export as application/json', [{ field: 'body', message: 'must be application/json' }]);
    }
    const batch = await loadBatch(deps.store, req.params.id as string, res);
    const body = parse(exportBody(deps), req.body, 'body');
    const kinds = (body.kinds ?? batch.kinds).filter((k) => batch.kinds.includes(k)) as TaskKind[];
    if (kinds.length === 0) throw new ProblemError(400, 'Invalid request', `batch ${batch.id} has no tasks of kind ${body.kinds?.join(', ')}`, [{ field: 'kinds', message: `must be among the batch's kinds (${batch.kinds.join(', ')})` }]);
    if (unfinishedCount(batch.progress) > 0) {
      throw new ProblemError(409, 'Conflict', `batch ${batch.id} still has queued or running tasks: export it once it has finished`, [{ field: 'id', message: 'batch has not finished' }]);
    }
    const options: ExportOptions = {
      format: body.format as ExportOptions['format'], shardSamples: body.shard_samples, shardBytes: body.shard_bytes, includeImages: body.include_images,
      images: body.images, ...(body.near_duplicates ? { nearDuplicates: body.near_duplicates } : {}),
    };
    const exp = await deps.store.batches.createExport(batch.id, options);
    const run = runExport(deps, exp, kinds).finally(() => running.delete(run));
    running.add(run);
    res.status(202).location(`/exports/${exp.id}`).json(presentExport(exp, deps.blobs));
  });

  /** An export whose builder stopped renewing its heartbeat (its process died) is failed now, not left running. */
  const liveOrInterrupted = async (exp: ExportRecord | null): Promise<ExportRecord | null> =>
    exp && isExportInterrupted(exp, Date.now(), deps.exportStaleMs)
      ? ((await deps.store.batches.finishExport(exp.id, { status: 'failed', error: EXPORT_INTERRUPTED })) ?? exp)
      : exp;

  router.get('/exports/:id', async (req, res) => {
    const id = req.params.id as string;
    const exp = ID.test(id) ? await liveOrInterrupted(await deps.store.batches.getExport(id)) : null;
    // An export belongs to its batch's owner: whoever may see the batch may see its exports.
    const caller = callerOf(res);
    const visible = exp && (caller.admin || canSee(caller, (await deps.store.batches.getBatch(exp.batchId))?.owner));
    if (!exp || !visible) throw notFound(`no export with id ${id}`);
    res.json(presentExport(exp, deps.blobs));
  });

  return router;
}
