import pLimit from 'p-limit';
import type { Logger } from '../logger.js';
import type { ImageSettlement, SettledImage, TaskStore } from '../models/task-store.js';
import type { RightsRecord, RightsSignal } from '../models/rights.js';
import type { ClaimResult, ImageOutcome, ImageRecord, ImageText, PageInfo, StoredFile, Task, TaskError, TaskImageDetails } from '../models/task.js';
import { inlineHasher, type ImageHasher } from '../scrape/image-hasher.js';
import { NO_PARTS } from '../scrape/html.js';
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
import { PageClaims, Settlements } from './image-batches.js';

export interface ImagesTaskDeps {
  store: TaskStore;
  blobs: BlobStore;
  pages: PageFetcher;
  /** Perceptual hashes of stored images; inline when absent. */
  hasher?: ImageHasher;
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
  /** The page's completions and links, written in batches. */
  settlements: Settlements;
}

/**
 * An image completed as failed with this code was downloaded and not kept (filtered out, or reserved under
 * RIGHTS_POLICY=respect): a task joining it, whose filters may differ, claims it again.
 */
const NOT_KEPT = 'not_kept';

/** How a claimed image's download ended: kept (the blob is written), not kept, or failed on its own. */
type Downloaded =
  | { kind: 'stored'; file: StoredFile; body: Buffer }
  | { kind: 'withheld'; reason: TaskError; rights?: RightsRecord }
  | { kind: 'failed'; error: TaskError };

/** A link's outcome and what goes with it, before it is written. */
interface LinkParts {
  outcome: ImageOutcome;
  error?: TaskError;
  extra?: Omit<TaskImageDetails, 'text'>;
}

export async function runImagesTask(task: Task, deps: ImagesTaskDeps, log: Logger, signal: AbortSignal, onPage?: (page: FetchedPage) => void): Promise<PageInfo> {
  // Images, their texts, rights and links only: no main content or Markdown.
  const page = await fetchPage(deps.pages, task.url, NO_PARTS, signal, task.refresh);
  onPage?.(page);
  const refs = page.images.slice(0, deps.images.maxPerPage);
  if (refs.length < page.images.length) {
    log.warn({ discovered: page.images.length, cap: deps.images.maxPerPage }, 'page has more images than the per-page cap; the rest are skipped');
  }
  // A retried task starts its image outcomes afresh; stored files are reused through the claims. A task
  // with no links yet (its start read the counts) has nothing to clear.
  if (task.counts?.found !== 0) await deps.store.clearTaskImages(task.id);
  const limit = pLimit(deps.images.concurrency);
  const sourceUrls = refs.map((r) => (r.startsWith('data:') ? dataUriSourceKey(r) : r));
  // Claimed a couple of download slots ahead: few store calls, and no claim held long before its download.
  const claims = new PageClaims(sourceUrls, Math.max(8, 2 * deps.images.concurrency), (urls) => deps.store.claimImages(urls, {
    taskId: task.id,
    refreshStoredBefore: task.refresh ? task.createdAt : undefined,
    staleAfterMs: deps.images.claimStaleMs,
  }));
  const settlements = new Settlements(deps.store);
  const forImages = page.rights?.forImages ?? [];
  const failure = new AbortController();
  const imageSignal = AbortSignal.any([signal, failure.signal]);
  // Per-image fetch errors are recorded per image. Anything else fails the task: the first such error cancels
  // the downloads in flight and starts no more, and the task fails once each has given its claim back.
  const guarded = (work: () => Promise<void>) => limit(async () => {
    if (failure.signal.aborted) return;
    settlements.begin();
    try {
      await work();
    } catch (err) {
      if (!failure.signal.aborted) failure.abort(err);
    } finally {
      settlements.end();
    }
  });
  // Images another task is fetching are joined only after this task's own claims are all settled: a slot
  // waiting on another task never holds up a claim of ours made ahead, so two pages sharing images cannot
  // end up waiting on each other.
  const joins: Array<{ job: ImageJob; claim: ClaimResult }> = [];
  await Promise.allSettled(refs.map((reference, position) => guarded(async () => {
    const job: ImageJob = { task, position, reference, text: page.imageTexts[reference], forImages, cancelled: failure.signal, log, settlements };
    const claim = await claims.take(position);
    if (claim.outcome === 'in_progress') joins.push({ job, claim });
    else await processImage(job, claim, deps, imageSignal);
  })));
  await Promise.allSettled(joins.sort((a, b) => a.job.position - b.job.position).map(({ job, claim }) => guarded(() => processImage(job, claim, deps, imageSignal))));
  // Claims made ahead for images the task never reached (it failed first) go back at once.
  await Promise.all((await claims.untaken()).map((image) => deps.store.releaseImage(image.id, task.id).catch((err: unknown) => {
    log.warn({ err, imageId: image.id }, 'could not release an image claim');
  })));
  // The links answered early (Settlements) are written before the task may finish, failed or not.
  await settlements.flush().catch((err: unknown) => {
    if (!failure.signal.aborted) failure.abort(err);
  });
  if (failure.signal.aborted) throw failure.signal.reason;
  return { ...page.info, imagesDiscovered: page.images.length };
}

/** Settles one image of the page from its first claim: reuse, download, or join (wait, then claim again). */
async function processImage(job: ImageJob, first: ClaimResult, deps: ImagesTaskDeps, signal: AbortSignal): Promise<void> {
  const { task } = job;
  const sourceUrl = job.reference.startsWith('data:') ? dataUriSourceKey(job.reference) : job.reference;
  const linkOf = (imageId: string, parts: LinkParts) => ({
    taskId: task.id, position: job.position, sourceUrl, imageId, outcome: parts.outcome, error: parts.error, details: detailsOf(job.text, parts.extra ?? {}),
  });
  const link = async (imageId: string, parts: LinkParts) => {
    await job.settlements.settle({ link: linkOf(imageId, parts) });
  };
  // What is known before any download: the page's word about its images and the image origin's files.
  const before = deps.pages.rights ? await deps.pages.rights.reader.imageBeforeDownload(job.reference, job.forImages, signal) : undefined;
  /** A stored file, as this task sees it: its filters and the rights policy decide; resized when asked. */
  const storedLink = async (file: StoredFile, outcome: 'stored' | 'reused', body?: Buffer): Promise<LinkParts> => {
    const filtered = filterReason(task.options?.filters, file);
    if (filtered) return { outcome: 'skipped', error: { code: 'filtered', message: filtered } };
    const rights = before && decideRights([...before, ...(file.headerSignals ?? [])]);
    if (rights && withholds(deps.pages.rights, rights)) return { outcome: 'skipped', error: refused(job.task, rights), extra: { rights } };
    const resize = task.options?.resize;
    const resized = resize ? await ensureResized(file, resize, deps.blobs, body) : undefined;
    return { outcome, extra: { ...(rights ? { rights } : {}), ...(resized ? { resized } : {}) } };
  };
  /** The claim was no longer ours when the outcome was written: link what the record says now. */
  const linkAsItStands = async (record: ImageRecord | null, imageId: string, error?: TaskError) =>
    record?.status === 'stored' ? link(imageId, await storedLink(record.file!, 'reused')) : link(imageId, { outcome: 'failed', error: record?.error ?? error });

  for (let claim = first; ; claim = await claimAgain(sourceUrl, job, deps)) {
    if (claim.outcome === 'stored') return link(claim.image.id, await storedLink(claim.image.file!, 'reused'));
    if (claim.outcome === 'claimed') {
      const done = await downloadAndStore(job, claim.image, before, deps, signal);
      const id = claim.image.id;
      if (done.kind === 'withheld') {
        const parts: LinkParts = { outcome: 'skipped', error: done.reason, extra: done.rights ? { rights: done.rights } : {} };
        const settled = await settleClaim(job, deps, { link: linkOf(id, parts), completion: { status: 'failed', error: { code: NOT_KEPT, message: `not kept by task ${task.id}: ${done.reason.message}` } } });
        // Not kept by this task whatever became of the claim.
        return settled.linked ? undefined : link(id, parts);
      }
      if (done.kind === 'failed') {
        const settled = await settleClaim(job, deps, { link: linkOf(id, { outcome: 'failed', error: done.error }), completion: { status: 'failed', error: done.error } });
        return settled.linked ? undefined : linkAsItStands(settled.image, id, done.error);
      }
      const parts = await storedLink(done.file, 'stored', done.body).catch(async (err: unknown) => {
        await releaseClaim(job, deps, id); // a failed resize is the task's failure: the claim goes back
        throw err;
      });
      const settled = await settleClaim(job, deps, { link: linkOf(id, parts), completion: { status: 'stored', file: done.file } });
      return settled.linked ? undefined : linkAsItStands(settled.image, id);
    }
    // Another task is fetching it: join rather than fetch twice.
    const settled = await waitForImage(claim.image.id, deps, signal);
    if (job.cancelled.aborted) throw job.cancelled.reason;
    if (settled?.status === 'stored') return link(settled.id, await storedLink(settled.file!, 'reused'));
    if (settled?.status === 'failed' && settled.error?.code !== NOT_KEPT) return link(settled.id, { outcome: 'failed', error: settled.error });
    if (signal.aborted) return link(claim.image.id, { outcome: 'failed', error: toTaskError(new ScrapeError('timeout', 'task deadline exceeded while waiting for the image')) });
    // Still pending but its claim went stale (its owner died) or was released, or its fetcher did not keep
    // it: take it over.
  }
}

/** A claim after waiting on another task's: on its own (the rare path), with the same options as the page's. */
function claimAgain(sourceUrl: string, job: ImageJob, deps: ImagesTaskDeps): Promise<ClaimResult> {
  return deps.store.claimImage(sourceUrl, {
    taskId: job.task.id,
    refreshStoredBefore: job.task.refresh ? job.task.createdAt : undefined,
    staleAfterMs: deps.images.claimStaleMs,
  });
}

/** Completes a claim with its link; if the store fails, the claim is given back (the task's failure, not the image's). */
async function settleClaim(job: ImageJob, deps: ImagesTaskDeps, item: ImageSettlement): Promise<SettledImage> {
  try {
    return await job.settlements.settle(item);
  } catch (err) {
    await releaseClaim(job, deps, item.link.imageId);
    throw err;
  }
}

async function releaseClaim(job: ImageJob, deps: ImagesTaskDeps, imageId: string): Promise<void> {
  await deps.store.releaseImage(imageId, job.task.id).catch((releaseErr: unknown) => {
    // It stays pending until CLAIM_STALE_MS, when another task may take it over.
    job.log.warn({ err: releaseErr, imageId }, 'could not release an image claim');
  });
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
 * Downloads, checks and stores a claimed image; the claim is completed by the caller, with its link. Not
 * kept (no bytes written): when the rights known beforehand already reserve it (then it is not even
 * downloaded), when the task's filters reject it, or when its own response headers reserve it.
 */
async function downloadAndStore(
  job: ImageJob, image: ImageRecord, before: RightsSignal[] | undefined, deps: ImagesTaskDeps, signal: AbortSignal,
): Promise<Downloaded> {
  try {
    const known = before && decideRights(before);
    if (known && withholds(deps.pages.rights, known)) return { kind: 'withheld', reason: refused(job.task, known), rights: known };
    const { body, headerSignals } = job.reference.startsWith('data:')
      ? { body: dataUriBody(job.reference, deps.images.maxBytes), headerSignals: [] }
      : await fetchImage(job.reference, deps, signal);
    const info = await inspectImage(body);
    const filtered = filterReason(job.task.options?.filters, info);
    if (filtered) return { kind: 'withheld', reason: { code: 'filtered', message: filtered } };
    const rights = before && decideRights([...before, ...headerSignals]);
    if (rights && withholds(deps.pages.rights, rights)) return { kind: 'withheld', reason: refused(job.task, rights), rights };
    const key = imageKey(info.sha256, info.ext);
    // Same bytes under another URL: one file, as the key is the content's address. It is written without
    // asking first: a new file (the common case) then costs one filesystem call or request fewer, and a
    // rewrite of the same bytes is atomic (the S3 store skips it by itself). The key is the content's
    // address, and nothing points to it before this put resolves, so a new file may be created in place
    // (PutOptions.contentAddressed). The perceptual hash is computed meanwhile (image-hasher.ts).
    const [, phash] = await Promise.all([deps.blobs.put(key, body, { contentAddressed: true }), (deps.hasher ?? inlineHasher).hash(body, info)]);
    telemetry.stored({ bytes: body.length, owner: job.task.owner, url: job.task.url });
    const file: StoredFile = { sha256: info.sha256, key, mime: info.mime, bytes: body.length, width: info.width, height: info.height };
    if (phash) file.phash = phash;
    if (headerSignals.length) file.headerSignals = headerSignals;
    return { kind: 'stored', file, body };
  } catch (err) {
    if (err instanceof ScrapeError && !job.cancelled.aborted) return { kind: 'failed', error: toTaskError(err) };
    // The task's failure, not the image's: give the claim back untouched, so a retry or a joined task takes it at once.
    await releaseClaim(job, deps, image.id);
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
