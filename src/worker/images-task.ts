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

/** What every image of one task run shares. */
interface ImageRun {
  deps: ImagesTaskDeps;
  log: Logger;
  /** The task's deadline and shutdown, and `cancelled`. */
  signal: AbortSignal;
  /** Aborted (with its error) when the task fails for a reason not an image's own: a full disk, a bug. */
  cancelled: AbortSignal;
}

export async function runImagesTask(task: Task, deps: ImagesTaskDeps, log: Logger, signal: AbortSignal): Promise<PageInfo> {
  const page = await fetchPage(deps.pages, task.url, signal, task.refresh);
  const refs = page.images.slice(0, deps.images.maxPerPage);
  if (refs.length < page.images.length) {
    log.warn({ discovered: page.images.length, cap: deps.images.maxPerPage }, 'page has more images than the per-page cap; the rest are skipped');
  }
  // A retried task starts its image outcomes afresh; stored files are reused through the claims.
  await deps.store.clearTaskImages(task.id);
  const failure = new AbortController();
  const run: ImageRun = { deps, log, signal: AbortSignal.any([signal, failure.signal]), cancelled: failure.signal };
  const limit = pLimit(deps.images.concurrency);
  // Per-image fetch errors are recorded per image. Anything else fails the task: the first such error cancels
  // the downloads in flight and starts no more, and the task fails once each has given its claim back.
  await Promise.allSettled(refs.map((reference, position) => limit(async () => {
    if (failure.signal.aborted) return;
    try {
      await processImage({ task, position, reference }, run);
    } catch (err) {
      if (!failure.signal.aborted) failure.abort(err);
    }
  })));
  if (failure.signal.aborted) throw failure.signal.reason;
  return { ...page.info, imagesDiscovered: page.images.length };
}

async function processImage(job: ImageJob, run: ImageRun): Promise<void> {
  const { task } = job;
  const { deps, signal, cancelled } = run;
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
      const record = await downloadAndStore(job, claim.image, run);
      return record.status === 'stored' ? link(record.id, 'stored') : link(record.id, 'failed', record.error);
    }
    // Another task is fetching it: join rather than fetch twice.
    const settled = await waitForImage(claim.image.id, deps, signal);
    if (cancelled.aborted) throw cancelled.reason;
    if (settled?.status === 'stored') return link(settled.id, 'reused');
    if (settled?.status === 'failed') return link(settled.id, 'failed', settled.error);
    if (signal.aborted) return link(claim.image.id, 'failed', toTaskError(new ScrapeError('timeout', 'task deadline exceeded while waiting for the image')));
    // Still pending but its claim went stale (its owner died) or was released. Loop to take it over.
  }
}

/**
 * Downloads a claimed image and completes the claim: stored, or failed with the image's own error. Any other
 * error (the task's, not the image's) gives the claim back untouched, so a retry or a joined task takes it at once.
 */
async function downloadAndStore(job: ImageJob, image: ImageRecord, run: ImageRun): Promise<ImageRecord> {
  const { deps } = run;
  try {
    const body = job.reference.startsWith('data:') ? dataUriBody(job.reference, deps.images.maxBytes) : await fetchImage(job.reference, deps, run.signal);
    const info = await inspectImage(body);
    const key = imageKey(info.sha256, info.ext);
    // Same bytes under another URL: one file. The content address makes a second write pointless.
    if (!(await deps.blobs.exists(key))) await deps.blobs.put(key, body);
    return await deps.store.completeImage(image.id, job.task.id, {
      status: 'stored',
      file: { sha256: info.sha256, key, mime: info.mime, bytes: body.length, width: info.width, height: info.height },
    });
  } catch (err) {
    if (err instanceof ScrapeError && !run.cancelled.aborted) {
      return deps.store.completeImage(image.id, job.task.id, { status: 'failed', error: toTaskError(err) });
    }
    await deps.store.releaseImage(image.id, job.task.id).catch((releaseErr: unknown) => {
      // It stays pending until CLAIM_STALE_MS, when another task may take it over.
      run.log.warn({ err: releaseErr, imageId: image.id }, 'could not release an image claim');
    });
    throw err;
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
