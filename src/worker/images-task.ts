import pLimit from 'p-limit';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { ImageOutcome, ImageRecord, PageInfo, Task, TaskError } from '../models/task.js';
import { decodeDataUri, inspectImage } from '../scrape/image-file.js';
import { ScrapeError, toTaskError } from '../scrape/scrape-error.js';
import type { BlobStore } from '../storage/blob-store.js';
import { sleep } from '../util/sleep.js';
import { dataUriSourceKey, imageKey } from './image-keys.js';
import { fetchPage, type PageFetcher } from './page.js';
import { telemetry } from '../ops/telemetry.js';

export interface ImagesTaskDeps {
  store: TaskStore;
  blobs: BlobStore;
  pages: PageFetcher;
  images: {
    concurrency: number;
    maxBytes: number;
    maxPerPage: number;
    claimStaleMs: number;
  };
}

interface ImageJob {
  task: Task;
  position: number;
  /** As referenced by the page; for data: URIs the payload itself. */
  reference: string;
}

export async function runImagesTask(task: Task, deps: ImagesTaskDeps, log: Logger, signal: AbortSignal): Promise<PageInfo> {
  const page = await fetchPage(deps.pages, task.url, signal, task.refresh);
  const refs = page.images.slice(0, deps.images.maxPerPage);
  if (refs.length < page.images.length) {
    log.warn({ discovered: page.images.length, cap: deps.images.maxPerPage }, 'page has more images than the per-page cap; the rest are skipped');
  }
  // A retried task starts its image outcomes afresh; stored files are reused through the claims.
  await deps.store.clearTaskImages(task.id);
  const limit = pLimit(deps.images.concurrency);
  // Per-image fetch errors are recorded per image; only a failing store rejects here, failing the task.
  await Promise.all(refs.map((reference, position) => limit(() => processImage({ task, position, reference }, deps, signal))));
  return { ...page.info, imagesDiscovered: page.images.length };
}

async function processImage(job: ImageJob, deps: ImagesTaskDeps, signal: AbortSignal): Promise<void> {
  const { task } = job;
  const sourceUrl = job.reference.startsWith('data:') ? dataUriSourceKey(job.reference) : job.reference;
  const link = (imageId: string, outcome: ImageOutcome, error?: TaskError) =>
    deps.store.linkImage({ taskId: task.id, position: job.position, sourceUrl, imageId, outcome, error });

  for (;;) {
    const claim = await deps.store.claimImage(sourceUrl, {
      taskId: task.id,
      refreshStoredBefore: task.refresh ? task.createdAt : undefined,
      staleAfterMs: deps.images.claimStaleMs,
    });
    if (claim.outcome === 'stored') return link(claim.image.id, 'reused');
    if (claim.outcome === 'claimed') {
      const record = await downloadAndStore(job, claim.image, deps, signal);
      return record.status === 'stored' ? link(record.id, 'stored') : link(record.id, 'failed', record.error);
    }
    // Another task is fetching it: join rather than fetch twice.
    const settled = await waitForImage(claim.image.id, deps, signal);
    if (settled?.status === 'stored') return link(settled.id, 'reused');
    if (settled?.status === 'failed') return link(settled.id, 'failed', settled.error);
    if (signal.aborted) return link(claim.image.id, 'failed', toTaskError(new ScrapeError('timeout', 'task deadline exceeded while waiting for the image')));
    // Still pending but its claim went stale: its owner died. Loop to take it over.
  }
}

async function downloadAndStore(job: ImageJob, image: ImageRecord, deps: ImagesTaskDeps, signal: AbortSignal): Promise<ImageRecord> {
  try {
    const body = job.reference.startsWith('data:') ? dataUriBody(job.reference, deps.images.maxBytes) : await fetchImage(job.reference, deps, signal);
    const info = await inspectImage(body);
    const key = imageKey(info.sha256, info.ext);
    // Same bytes under another URL: one file. The content address makes a second write pointless.
    if (!(await deps.blobs.exists(key))) {
      await deps.blobs.put(key, body);
      telemetry.stored({ bytes: body.length, owner: job.task.owner, url: job.task.url });
    }
    return await deps.store.completeImage(image.id, job.task.id, {
      status: 'stored',
      file: { sha256: info.sha256, key, mime: info.mime, bytes: body.length, width: info.width, height: info.height },
    });
  } catch (err) {
    if (!(err instanceof ScrapeError)) throw err;
    return deps.store.completeImage(image.id, job.task.id, { status: 'failed', error: toTaskError(err) });
  }
}

async function fetchImage(url: string, deps: ImagesTaskDeps, signal: AbortSignal): Promise<Buffer> {
  const res = await deps.pages.fetcher.fetch(url, {
    timeoutMs: deps.pages.timeoutMs,
    maxBytes: deps.images.maxBytes,
    maxRedirects: deps.pages.maxRedirects,
    accept: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    signal,
  });
  return res.body;
}

function dataUriBody(uri: string, maxBytes: number): Buffer {
  const body = decodeDataUri(uri);
  if (!body) throw new ScrapeError('invalid_url', 'malformed data: URI');
  if (body.length > maxBytes) throw new ScrapeError('too_large', `image is ${body.length} bytes, over the ${maxBytes} byte limit`);
  return body;
}

/** Polls until the image settles, its claim goes stale, or the task's deadline passes. */
async function waitForImage(imageId: string, deps: ImagesTaskDeps, signal: AbortSignal): Promise<ImageRecord | null> {
  let delay = 50;
  while (!signal.aborted) {
    await sleep(delay, signal);
    const image = await deps.store.getImage(imageId);
    if (!image || image.status !== 'pending') return image;
    const claimedAt = image.claimedAt ? Date.parse(image.claimedAt) : 0;
    if (Date.now() - claimedAt > deps.images.claimStaleMs) return image;
    delay = Math.min(delay * 2, 1000);
  }
  return null;
}
