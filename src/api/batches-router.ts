/** /batches: submit many URLs at once, follow them, cancel or retry them, stream their results. */
import express, { Router, type Request, type Response } from 'express';
import type { Logger } from '../logger.js';
import { unfinishedCount } from '../models/batch-progress.js';
import type { BatchWithProgress } from '../models/batch.js';
import type { TaskStore } from '../models/task-store.js';
import { TASK_STATUSES } from '../models/task.js';
import { dispatchAll, reserveMany } from '../queue/dispatch-all.js';
import type { Job, JobQueue, Reservation } from '../queue/job-queue.js';
import { pageJobs, tasksOf } from '../queue/page-siblings.js';
import { callerOf, canSee, ownerFilter } from './auth.js';
import { readJsonBatch, readNdjsonBatch, isNdjson } from './batch-input.js';
import { presentBatch } from './batch-presenters.js';
import { notFound, ProblemError } from './problem.js';
import { presentTask } from './presenters.js';
import { reservePlace, rethrowCursor } from './tasks-router.js';
import { pageQuery, parse } from './validation.js';
import { streamResults } from './results-stream.js';
import { batchRecords } from '../datasets/batch-records.js';
import { decodePositionCursor } from '../models/ids.js';
import type { BlobStore } from '../storage/blob-store.js';
import { z } from 'zod';
import type { AddressPolicy } from '../scrape/address-guard.js';
import type { WebhookEvents } from '../webhooks/events.js';
import type { WebhookEndpoint } from '../models/webhook.js';
import { checkWebhookTarget, presentEndpoint, toEndpoint } from './webhook-input.js';
import { presentDelivery } from './webhook-presenters.js';
import type { StoreFeeder } from '../queue/store-feeder.js';
import type { CrawlCounters } from '../models/crawl.js';

export interface BatchesDeps {
  store: TaskStore;
  queue: JobQueue;
  blobs: BlobStore;
  log: Logger;
  batchMaxUrls: number;
  addressPolicy: AddressPolicy;
  events: WebhookEvents;
  /** Standalone: batch tasks wait in the store and are fed to the bounded queue as room frees (no queue_full). */
  feeder?: StoreFeeder;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A JSON `urls` array of the largest batch, at about 100 bytes a URL; NDJSON bodies are streamed instead. */
const jsonLimit = (maxUrls: number) => Math.max(64 * 1024, maxUrls * 100);

const tasksQuery = pageQuery.extend({
  status: z.enum(['finished', ...TASK_STATUSES] as [string, ...string[]], { error: `must be one of ${TASK_STATUSES.join(', ')}, finished` }).optional(),
});

const resultsQuery = pageQuery.pick({ cursor: true });

/**
 * The batch, when the caller may see it: another key's batch is as unknown as a missing one (404, not
 * 403), so its ids tell nothing.
 */
export async function loadBatch(store: TaskStore, id: string, res: Response): Promise<BatchWithProgress> {
  const batch = ID.test(id) ? await store.batches.getBatch(id) : null;
  if (!batch || !canSee(callerOf(res), batch.owner)) throw notFound(`no batch with id ${id}`);
  return batch;
}

/**
 * Queues the jobs through places taken before their tasks were stored. Only a broker failing after that
 * (RabbitMQ down past the dispatch timeout) leaves jobs undispatched: their tasks are failed at once, so
 * nothing waits on them forever, and the caller hears 503; a batch retry re-queues them later.
 */
async function dispatchJobs(deps: BatchesDeps, batchId: string, places: Reservation[], jobs: Job[]): Promise<void> {
  const { undispatched, error } = await dispatchAll(places, jobs);
  if (undispatched.length === 0) return;
  // A page's message not sent leaves its page-mates without one too.
  const failed = undispatched.flatMap(tasksOf);
  for (const taskId of failed) {
    await deps.store.finishTask(taskId, { status: 'failed', error: { code: 'queue_unavailable', message: 'the task queue could not take the task' } });
  }
  const all = jobs.reduce((n, job) => n + tasksOf(job).length, 0);
  deps.log.warn({ err: error, batchId, undispatched: failed.length }, 'batch dispatch failed');
  throw new ProblemError(503, 'Service Unavailable',
    `the task queue took ${all - failed.length} of the ${all} tasks of batch ${batchId} (queue_unavailable); the rest failed: retry them with POST /batches/${batchId}/retry`,
    undefined, { 'retry-after': '5' });
}

/** A batch with its crawl counters when it is a crawl. */
async function presentWithCrawl(store: TaskStore, batch: BatchWithProgress) {
  const counters: CrawlCounters | null = batch.crawl ? await store.frontier.counters(batch.id) : null;
  return presentBatch(batch, undefined, counters);
}

/** Standalone with the feeder: refused only while shutting down, before anything is stored. */
function checkAccepting(feeder: StoreFeeder): void {
  if (!feeder.accepting) throw new ProblemError(503, 'Service Unavailable', 'the service is shutting down (shutting_down); retry shortly', undefined, { 'retry-after': '5' });
}

/** Places for `n` jobs, or a 503 before anything is stored. */
const reserveJobs = (queue: JobQueue, n: number): Reservation[] => reserveMany(n, () => reservePlace(queue));

export function batchesRouter(deps: BatchesDeps): Router {
  const router = Router();
  const json = express.json({ limit: jsonLimit(deps.batchMaxUrls), strict: false });

  router.post('/', async (req: Request, res, next) => {
    if (isNdjson(req)) return next();
    if (!req.is('application/json')) {
      throw new ProblemError(415, 'Unsupported Media Type', 'send the batch as application/json or application/x-ndjson', [{ field: 'body', message: 'must be application/json or application/x-ndjson' }]);
    }
    json(req, res, next);
  }, async (req: Request, res) => {
    const ndjson = isNdjson(req);
    const { webhook, ...input } = ndjson ? await readNdjsonBatch(req, deps.batchMaxUrls) : readJsonBatch(req.body, deps.batchMaxUrls);
    if (webhook) await checkWebhookTarget(webhook.url, deps.addressPolicy, ndjson ? 'webhook_url' : 'webhook.url');
    const { feeder } = deps;
    if (feeder) checkAccepting(feeder);
    // Refused before anything is stored when the queue cannot take them all (with a feeder they wait in the store):
    // one message per URL, which runs the URL's tasks of every kind (pageJobs).
    const places = feeder ? [] : reserveJobs(deps.queue, input.urls.length);
    let endpoint: WebhookEndpoint | undefined;
    const { batch, jobs } = await deps.store.batches.createBatch({ ...input, owner: callerOf(res).keyId }).then(async (created) => {
      // Before the first job goes out, so no event of the batch can miss its endpoint.
      endpoint = webhook && toEndpoint(webhook, 'batch', created.batch.id);
      if (endpoint) await deps.store.webhooks.setEndpoint(endpoint);
      return created;
    }).catch((err: unknown) => {
      for (const p of places) p.release();
      throw err;
    });
    deps.log.info({ batchId: batch.id, urls: batch.urlCount, tasks: batch.taskCount, crawl: batch.crawl?.url }, 'batch created');
    if (feeder) feeder.poke();
    else await dispatchJobs(deps, batch.id, places, pageJobs(jobs, input.kinds.length));
    const counters = batch.crawl ? { discovered: 1, queued: 1, done: 0, depthReached: 0 } : null;
    res.status(202).location(`/batches/${batch.id}`).json({ ...presentBatch(batch, undefined, counters), ...(endpoint ? { webhook: presentEndpoint(endpoint) } : {}) });
  });

  router.get('/', async (req, res) => {
    const q = parse(pageQuery, req.query, 'query');
    const page = await deps.store.batches.listBatches({ limit: q.limit, cursor: q.cursor, owner: ownerFilter(callerOf(res)) }).catch(rethrowCursor);
    if (page.nextCursor) res.links({ next: `/batches?${new URLSearchParams({ limit: String(q.limit), cursor: page.nextCursor })}` });
    res.json({ items: page.items.map((b) => presentBatch(b)), next_cursor: page.nextCursor ?? null });
  });

  router.get('/:id', async (req, res) => {
    res.json(await presentWithCrawl(deps.store, await loadBatch(deps.store, req.params.id as string, res)));
  });

  router.get('/:id/tasks', async (req, res) => {
    const batch = await loadBatch(deps.store, req.params.id as string, res);
    const q = parse(tasksQuery, req.query, 'query');
    const status = q.status as Parameters<TaskStore['batches']['listBatchTasks']>[1]['status'];
    const page = await deps.store.batches.listBatchTasks(batch.id, { status, limit: q.limit, cursor: q.cursor }).catch(rethrowCursor);
    if (page.nextCursor) {
      const next = new URLSearchParams({ ...(q.status ? { status: q.status } : {}), limit: String(q.limit), cursor: page.nextCursor });
      res.links({ next: `/batches/${batch.id}/tasks?${next}` });
    }
    res.json({ batch_id: batch.id, items: page.items.map(presentTask), next_cursor: page.nextCursor ?? null });
  });

  router.get('/:id/results', async (req, res) => {
    const batch = await loadBatch(deps.store, req.params.id as string, res);
    const q = parse(resultsQuery, req.query, 'query');
    // Checked before the headers go out: afterwards an error can only cut the stream.
    if (q.cursor !== undefined) {
      try {
        decodePositionCursor(q.cursor);
      } catch (err) {
        rethrowCursor(err);
      }
    }
    await streamResults(res, batchRecords(deps.store, batch.id, q.cursor), deps.blobs);
  });

  router.get('/:id/webhooks', async (req, res) => {
    const batch = await loadBatch(deps.store, req.params.id as string, res);
    const q = parse(pageQuery, req.query, 'query');
    const endpoint = await deps.store.webhooks.getEndpoint(batch.id);
    const page = await deps.store.webhooks.listDeliveries(batch.id, { limit: q.limit, cursor: q.cursor }).catch(rethrowCursor);
    if (page.nextCursor) res.links({ next: `/batches/${batch.id}/webhooks?${new URLSearchParams({ limit: String(q.limit), cursor: page.nextCursor })}` });
    res.json({
      batch_id: batch.id,
      endpoint: endpoint ? { url: endpoint.url, events: endpoint.events } : null,
      items: page.items.map(presentDelivery),
      next_cursor: page.nextCursor ?? null,
    });
  });

  router.post('/:id/retry', async (req, res) => {
    const batch = await loadBatch(deps.store, req.params.id as string, res);
    const { feeder } = deps;
    if (feeder) {
      checkAccepting(feeder);
      const jobs = (await deps.store.batches.retryBatch(batch.id)) ?? [];
      feeder.poke();
      return void res.status(202).json({ retried: jobs.length, batch: await presentWithCrawl(deps.store, await loadBatch(deps.store, batch.id, res)) });
    }
    // Enough places for every failed task (a retry re-queues at most those), taken before any changes.
    const places = reserveJobs(deps.queue, batch.progress.counts.failed);
    const jobs = (await deps.store.batches.retryBatch(batch.id).catch((err: unknown) => {
      for (const p of places) p.release();
      throw err;
    })) ?? [];
    await dispatchJobs(deps, batch.id, places, jobs);
    res.status(202).json({ retried: jobs.length, batch: await presentWithCrawl(deps.store, await loadBatch(deps.store, batch.id, res)) });
  });

  router.delete('/:id', async (req, res) => {
    const batch = await loadBatch(deps.store, req.params.id as string, res);
    if (unfinishedCount(batch.progress) === 0) {
      throw new ProblemError(409, 'Conflict', `batch ${batch.id} has finished: there is nothing left to cancel`, [{ field: 'id', message: 'batch has finished' }]);
    }
    const result = await deps.store.batches.cancelBatch(batch.id);
    if (!result) throw notFound(`no batch with id ${batch.id}`);
    await deps.events.batchMayHaveFinished(batch.id);
    res.json({ cancelled: result.cancelled, batch: await presentWithCrawl(deps.store, result.batch) });
  });

  return router;
}
