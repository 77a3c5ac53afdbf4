/** /media/<key>: the files, from a local directory or through the blob store (streamed, or a presigned redirect). */
import express, { Router } from 'express';
import { checkKey, InvalidKeyError, type BlobStore } from '../storage/blob-store.js';
import { contentTypeOf } from '../storage/content-types.js';
import { notFound } from './problem.js';
import { storedFileHeaders } from './security-headers.js';

export type MediaSource =
  /** Standalone with a volume: the directory itself. */
  | { kind: 'dir'; dir: string }
  /** A store without a local directory (S3): the API streams each file, or sends the client to a signed URL. */
  | { kind: 'store'; blobs: BlobStore; presign?: (key: string) => Promise<string> };

// Stored files are content-addressed, so they never change: cached for good, and served as inert.
const IMMUTABLE = 'public, max-age=31536000, immutable';

export function mediaRouter(source: MediaSource): Router {
  if (source.kind === 'dir') {
    const router = Router();
    router.use(
      express.static(source.dir, {
        index: false,
        dotfiles: 'ignore',
        immutable: true,
        maxAge: '365d',
        fallthrough: true,
        setHeaders: (res, file) => res.set(storedFileHeaders({ fileName: file })),
      }),
    );
    return router;
  }
  const router = Router();
  router.get('/*key', async (req, res) => {
    const key = (req.params as { key: string[] }).key.join('/');
    try {
      checkKey(key);
    } catch (err) {
      if (err instanceof InvalidKeyError) throw notFound(`no file ${key}`);
      throw err;
    }
    if (source.presign) {
      // A fresh signature each time; the redirect itself must not outlive it in a cache.
      res.set('cache-control', 'no-store');
      return void res.redirect(302, await source.presign(key));
    }
    const stream = await source.blobs.get(key);
    if (!stream) throw notFound(`no file ${key}`);
    res.set({ 'content-type': contentTypeOf(key), 'cache-control': IMMUTABLE, ...storedFileHeaders({ fileName: key }) });
    stream.on('error', (err) => res.destroy(err));
    stream.pipe(res);
  });
  return router;
}
