/** Domain → wire representation (snake_case JSON, links to related resources). */
import type { PageMetadata, Task, TaskError, TaskImage } from '../models/task.js';
import type { BlobStore } from '../storage/blob-store.js';

export const collectionPath = (kind: Task['kind']) => (kind === 'text' ? '/text_tasks' : '/images_tasks');

const error = (e?: TaskError) =>
  e && { code: e.code, message: e.message, ...(e.httpStatus ? { http_status: e.httpStatus } : {}), ...(e.address ? { address: e.address } : {}) };

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
          final_url: t.page.finalUrl,
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
    ...(t.kind === 'images' ? { counts: t.counts ?? { found: 0, stored: 0, reused: 0, failed: 0 } } : {}),
    links: t.kind === 'text' ? { self, text: `${self}/text` } : { self, images: `${self}/images` },
  };
}

/** Every key always present (null when the page did not say), so clients and exports see one shape. */
export function presentMetadata(m: PageMetadata | undefined) {
  return {
    title: m?.title ?? null,
    description: m?.description ?? null,
    author: m?.author ?? null,
    published: m?.published ?? null,
    canonical_url: m?.canonicalUrl ?? null,
    site_name: m?.siteName ?? null,
    license: m?.license ?? null,
    language: m?.language ?? null,
    word_count: m?.wordCount ?? null,
  };
}

export function presentImage(img: TaskImage, blobs: BlobStore) {
  const f = img.file;
  return {
    id: img.imageId,
    position: img.position,
    source_url: img.sourceUrl,
    outcome: img.outcome,
    url: f ? blobs.publicUrl(f.key) : null,
    download_url: f ? `/images_tasks/${img.taskId}/images/${img.imageId}` : null,
    mime: f?.mime ?? null,
    bytes: f?.bytes ?? null,
    width: f?.width ?? null,
    height: f?.height ?? null,
    sha256: f?.sha256 ?? null,
    error: error(img.error) ?? null,
  };
}
