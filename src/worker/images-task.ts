import pLimit from 'p-limit';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../models/task-store.js';
import type { RightsRecord, RightsSignal } from '../models/rights.js';
import type { ImageOutcome, ImageRecord, ImageText, PageInfo, StoredFile, Task, TaskError, TaskImageDetails } from '../models/task.js';
import { dhash } from '../scrape/image-hash.js';
import { decodeDataUri, inspectImage } from '../scrape/image-file.js';
import { responseSignals } from '../scrape/rights/rights-reader.js';
import { decideRights } from '../scrape/rights/verdict.js';
import { ScrapeError, toTaskError } from '../scrape/scrape-error.js';
import type { BlobStore } from '../storage/blob-store.js';
import { sleep } from '../util/sleep.js';
import { dataUriSourceKey, imageKey } from './image-keys.js';
import { ensureResized } from './image-extras.js';
import { filterReason } from './image-filters.js';
import { fetchPage, type FetchedPage, type PageFetcher } from './page.js';
import { telemetry } from '../ops/telemetry.js';
import { reservedError, withholds } from './rights-policy.js';

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
  /** Its alt, title, figcaption, nearby text and caption on this page. */
  text?: ImageText;
  /** What the page says about its images (noai, noimageai); empty when rights are not read. */
  forImages: RightsSignal[];
  /** Aborted (with its error) when the task fails for a reason not an image's own: a full disk, a bug. */
  cancelled: AbortSignal;
  log: Logger;
}

/**
 * An image completed as failed with this code was downloaded and not kept (filtered out, or reserved under
 * RIGHTS_POLICY=respect): a task joining it, whose filters may differ, claims it again.
 */
const NOT_KEPT = 'not_kept';

/** A downloaded image that the task does not keep, and why. */
interface Withheld {
  record: ImageRecord;
  reason: TaskError;
  rights?: RightsRecord;
}

export async function runImagesTask(task: Task, deps: ImagesTaskDeps, log: Logger, signal: AbortSignal, onPage?: (page: FetchedPage) => void): Promise<PageInfo> {
  const page = await fetchPage(deps.pages, task.url, signal, task.refresh);
  onPage?.(page);
  const refs = page.images.slice(0, deps.images.maxPerPage);
  if (refs.length < page.images.length) {
    log.warn({ discovered: page.images.length, cap: deps.images.maxPerPage }, 'page has more images than the per-page cap; the rest are skipped');
  }
  // A retried task starts its image outcomes afresh; stored files are reused through the claims.
  await deps.store.clearTaskImages(task.id);
  const limit = pLimit(deps.images.concurrency);
  const forImages = page.rights?.forImages ?? [];
  const failure = new AbortController();
  const imageSignal = AbortSignal.any([signal, failure.signal]);
  // Per-image fetch errors are recorded per image. Anything else fails the task: the first such error cancels
  // the downloads in flight and starts no more, and the task fails once each has given its claim back.
  await Promise.allSettled(refs.map((reference, position) => limit(async () => {
    if (failure.signal.aborted) return;
    try {
      const job: ImageJob = { task, position, reference, text: page.imageTexts[reference], forImages, cancelled: failure.signal, log };
      await processImage(job, deps, imageSignal);
    } catch (err) {
      if (!failure.signal.aborted) failure.abort(err);
    }
  })));
  if (failure.signal.aborted) throw failure.signal.reason;
  return { ...page.info, imagesDiscovered: page.images.length };
}

async function processImage(job: ImageJob, deps: ImagesTaskDeps, signal: AbortSignal): Promise<void> {
  const { task } = job;
  const sourceUrl = job.reference.startsWith('data:') ? dataUriSourceKey(job.reference) : job.reference;
  const link = (imageId: string, outcome: ImageOutcome, error?: TaskError, extra: Omit<TaskImageDetails, 'text'> = {}) =>
    deps.store.linkImage({ taskId: task.id, position: job.position, sourceUrl, imageId, outcome, error, details: detailsOf(job.text, extra) });
  // What is known before any download: the page's word about its images and the image origin's files.
  const before = deps.pages.rights ? await deps.pages.rights.reader.imageBeforeDownload(job.reference, job.forImages, signal) : undefined;
  /** A stored file, as this task sees it: its filters and the rights policy decide; resized when asked. */
  const linkStored = async (image: ImageRecord, outcome: 'stored' | 'reused', body?: Buffer) => {
    const file = image.file!;
    const filtered = filterReason(task.options?.filters, file);
    if (filtered) return link(image.id, 'skipped', { code: 'filtered', message: filtered });
    const rights = before && decideRights([...before, ...(file.headerSignals ?? [])]);
    if (rights && withholds(deps.pages.rights, rights)) return link(image.id, 'skipped', refused(job.task, rights), { rights });
    const resize = task.options?.resize;
    const resized = resize ? await ensureResized(file, resize, deps.blobs, body) : undefined;
    return link(image.id, outcome, undefined, { ...(rights ? { rights } : {}), ...(resized ? { resized } : {}) });
  };

  for (;;) {
    const claim = await deps.store.claimImage(sourceUrl, {
      taskId: task.id,
      refreshStoredBefore: task.refresh ? task.createdAt : undefined,
      staleAfterMs: deps.images.claimStaleMs,
    });
    if (claim.outcome === 'stored') return linkStored(claim.image, 'reused');
    if (claim.outcome === 'claimed') {
      const done = await downloadAndStore(job, claim.image, before, deps, signal);
      if ('reason' in done) return link(done.record.id, 'skipped', done.reason, done.rights ? { rights: done.rights } : {});
      return done.record.status === 'stored' ? linkStored(done.record, 'stored', done.body) : link(done.record.id, 'failed', done.record.error);
    }
    // Another task is fetching it: join rather than fetch twice.
    const settled = await waitForImage(claim.image.id, deps, signal);
    if (job.cancelled.aborted) throw job.cancelled.reason;
    if (settled?.status === 'stored') return linkStored(settled, 'reused');
    if (settled?.status === 'failed' && settled.error?.code !== NOT_KEPT) return link(settled.id, 'failed', settled.error);
    if (signal.aborted) return link(claim.image.id, 'failed', toTaskError(new ScrapeError('timeout', 'task deadline exceeded while waiting for the image')));
    // Still pending but its claim went stale (its owner died) or was released, or its fetcher did not keep
    // it: take it over.
  }
}

/** The error of an image withheld for its rights, counted for /stats and /metrics. */
function refused(task: Task, rights: Parameters<typeof reservedError>[0]): TaskError {
  telemetry.rightsRefused({ url: task.url, owner: task.owner });
  return reservedError(rights);
}

function detailsOf(text: ImageText | undefined, extra: Omit<TaskImageDetails, 'text'>): TaskImageDetails | undefined {
  const details: TaskImageDetails = text ? { text, ...extra } : { ...extra };
  return Object.keys(details).length ? details : undefined;
}

/**
 * Downloads, checks and stores a claimed image. Not kept (the claim completed as failed `not_kept`, no
 * bytes written): when the rights known beforehand already reserve it (then it is not even downloaded),
 * when the task's filters reject it, or when its own response headers reserve it.
 */
async function downloadAndStore(
  job: ImageJob, image: ImageRecord, before: RightsSignal[] | undefined, deps: ImagesTaskDeps, signal: AbortSignal,
): Promise<{ record: ImageRecord; body?: Buffer } | Withheld> {
  const withhold = async (reason: TaskError, rights?: RightsRecord): Promise<Withheld> => {
    const record = await deps.store.completeImage(image.id, job.task.id, { status: 'failed', error: { code: NOT_KEPT, message: `not kept by task ${job.task.id}: ${reason.message}` } });
    return rights ? { record, reason, rights } : { record, reason };
  };
  try {
    const known = before && decideRights(before);
    if (known && withholds(deps.pages.rights, known)) return await withhold(refused(job.task, known), known);
    const { body, headerSignals } = job.reference.startsWith('data:')
      ? { body: dataUriBody(job.reference, deps.images.maxBytes), headerSignals: [] }
      : await fetchImage(job.reference, deps, signal);
    const info = await inspectImage(body);
    const filtered = filterReason(job.task.options?.filters, info);
    if (filtered) return await withhold({ code: 'filtered', message: filtered });
    const rights = before && decideRights([...before, ...headerSignals]);
    if (rights && withholds(deps.pages.rights, rights)) return await withhold(refused(job.task, rights), rights);
    const key = imageKey(info.sha256, info.ext);
    // Same bytes under another URL: one file. The content address makes a second write pointless.
    if (!(await deps.blobs.exists(key))) {
      await deps.blobs.put(key, body);
      telemetry.stored({ bytes: body.length, owner: job.task.owner, url: job.task.url });
    }
    const file: StoredFile = { sha256: info.sha256, key, mime: info.mime, bytes: body.length, width: info.width, height: info.height };
    const phash = await dhash(body);
    if (phash) file.phash = phash;
    if (headerSignals.length) file.headerSignals = headerSignals;
    return { record: await deps.store.completeImage(image.id, job.task.id, { status: 'stored', file }), body };
  } catch (err) {
    if (err instanceof ScrapeError && !job.cancelled.aborted) {
      return { record: await deps.store.completeImage(image.id, job.task.id, { status: 'failed', error: toTaskError(err) }) };
    }
    // The task's failure, not the image's: give the claim back untouched, so a retry or a joined task takes it at once.
    await deps.store.releaseImage(image.id, job.task.id).catch((releaseErr: unknown) => {
      // It stays pending until CLAIM_STALE_MS, when another task may take it over.
      job.log.warn({ err: releaseErr, imageId: image.id }, 'could not release an image claim');
    });
    throw err;
  }
}

async function fetchImage(url: string, deps: ImagesTaskDeps, signal: AbortSignal): Promise<{ body: Buffer; headerSignals: RightsSignal[] }> {
  const res = await deps.pages.fetcher.fetch(url, {
    timeoutMs: deps.pages.timeoutMs,
    maxBytes: deps.images.maxBytes,
    maxRedirects: deps.pages.maxRedirects,
    accept: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    signal,
  });
  const rights = deps.pages.rights;
  return { body: res.body, headerSignals: rights ? responseSignals(res.finalUrl, res, rights.reader.tokens, 'image') : [] };
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
