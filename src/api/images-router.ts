import type { Router } from 'express';
import type { BlobStore } from '../storage/blob-store.js';
import { allowOnly } from './allow-only.js';
import { notFound } from './problem.js';
import { presentImage } from './presenters.js';
import { callerOf } from './auth.js';
import { storedFileHeaders } from './security-headers.js';
import { loadTask, rethrowCursor, tasksRouter, type TasksDeps } from './tasks-router.js';
import { pageQuery, parse } from './validation.js';

export function imagesTasksRouter(deps: TasksDeps & { blobs: BlobStore }): Router {
  const router = tasksRouter('images', deps);

  router.get('/:id/images', async (req, res) => {
    const task = await loadTask(deps.store, 'images', req.params.id as string, callerOf(res));
    const q = parse(pageQuery, req.query, 'query');
    const page = await deps.store.listTaskImages(task.id, { limit: q.limit, cursor: q.cursor }).catch(rethrowCursor);
    if (page.nextCursor) res.links({ next: `/images_tasks/${task.id}/images?limit=${q.limit}&cursor=${encodeURIComponent(page.nextCursor)}` });
    res.json({ task_id: task.id, status: task.status, items: page.items.map((i) => presentImage(i, deps.blobs)), next_cursor: page.nextCursor ?? null });
  });
  router.all('/:id/images', allowOnly('GET'));

  router.get('/:id/images/:imageId', async (req, res) => {
    const task = await loadTask(deps.store, 'images', req.params.id as string, callerOf(res));
    const image = await deps.store.getTaskImage(task.id, req.params.imageId as string);
    if (!image) throw notFound(`task ${task.id} has no image ${req.params.imageId}`);
    if (!image.file) throw notFound(`image ${image.imageId} was not stored: ${image.error?.message ?? image.outcome}`);
    const etag = `"${image.file.sha256}"`;
    res.set({ etag, 'cache-control': 'public, max-age=31536000, immutable' });
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    const stream = await deps.blobs.get(image.file.key);
    if (!stream) throw notFound(`the file of image ${image.imageId} is missing`);
    res.set({ 'content-type': image.file.mime, 'content-length': String(image.file.bytes), ...storedFileHeaders({ mime: image.file.mime }) });
    stream.on('error', (err) => res.destroy(err));
    stream.pipe(res);
  });
  router.all('/:id/images/:imageId', allowOnly('GET'));

  return router;
}
