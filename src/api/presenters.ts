/** Domain → wire representation (snake_case JSON, links to related resources). */
import { publicTaskError } from '../models/task-error.js';
import type { ImagesTaskOptions, Task, TaskError, TaskImage } from '../models/task.js';
import { presentMetadata, presentRights as rights, withoutCredentials } from '../models/wire-fields.js';
import type { BlobStore } from '../storage/blob-store.js';

export const collectionPath = (kind: Task['kind']) => (kind === 'text' ? '/text_tasks' : '/images_tasks');

const error = (stored?: TaskError) => {
  const e = stored && publicTaskError(stored);
  return e && { code: e.code, message: e.message, ...(e.httpStatus ? { http_status: e.httpStatus } : {}), ...(e.address ? { address: e.address } : {}) };
};

function presentOptions(o: ImagesTaskOptions | undefined) {
  const f = o?.filters;
  return {
    min_width: f?.minWidth ?? null,
    min_height: f?.minHeight ?? null,
    max_aspect_ratio: f?.maxAspectRatio ?? null,
    mime_types: f?.mimeTypes ?? null,
    resize: o?.resize ? { max_side: o.resize.maxSide, format: o.resize.format } : null,
  };
}

export function presentTask(t: Task) {
  const self = `${collectionPath(t.kind)}/${t.id}`;
  return {
    id: t.id,
    kind: t.kind,
    url: t.url,
    status: t.status,
    refresh: t.refresh,
    ...(t.kind === 'text' ? { format: t.format ?? 'text' } : {}),
    attempts: t.attempts,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    started_at: t.startedAt ?? null,
    finished_at: t.finishedAt ?? null,
    error: error(t.error) ?? null,
    page: t.page
      ? {
          final_url: withoutCredentials(t.page.finalUrl),
          http_status: t.page.httpStatus,
          content_type: t.page.contentType ?? null,
          title: t.page.title ?? null,
          bytes: t.page.bytes,
          proxy: t.page.proxy ?? null,
          ...(t.kind === 'text'
            ? { text_length: t.page.textLength ?? null, metadata: presentMetadata(t.page.metadata) }
            : { images_discovered: t.page.imagesDiscovered ?? null }),
        }
      : null,
    rights: rights(t.page?.rights),
    ...(t.kind === 'text'
      ? { simhash: t.page?.simhash ?? null }
      : { options: presentOptions(t.options), counts: t.counts ?? { found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 } }),
    batch_id: t.batchId ?? null,
    links: t.kind === 'text' ? { self, text: `${self}/text` } : { self, images: `${self}/images` },
  };
}

export function presentImage(img: TaskImage, blobs: BlobStore) {
  const f = img.file;
  const t = img.details?.text;
  const r = img.details?.resized;
  return {
    id: img.imageId,
    position: img.position,
    source_url: withoutCredentials(img.sourceUrl),
    outcome: img.outcome,
    url: f ? blobs.publicUrl(f.key) : null,
    download_url: f ? `/images_tasks/${img.taskId}/images/${img.imageId}` : null,
    mime: f?.mime ?? null,
    bytes: f?.bytes ?? null,
    width: f?.width ?? null,
    height: f?.height ?? null,
    sha256: f?.sha256 ?? null,
    phash: f?.phash ?? null,
    alt: t?.alt ?? null,
    title: t?.title ?? null,
    figcaption: t?.figcaption ?? null,
    nearby_text: t?.nearby ?? null,
    caption: t?.caption ?? null,
    caption_source: t?.captionSource ?? null,
    rights: rights(img.details?.rights),
    resized: r ? { url: blobs.publicUrl(r.key), mime: r.mime, bytes: r.bytes, width: r.width, height: r.height, sha256: r.sha256 ?? null } : null,
    error: img.outcome === 'skipped' ? null : error(img.error) ?? null,
    skip_reason: img.outcome === 'skipped' ? error(img.error) ?? null : null,
  };
}
