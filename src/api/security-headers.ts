/**
 * Headers that keep scraped files and API answers from being run as something else. A stored file came
 * from a stranger's site and is served from the API's origin: an SVG with <script> opened there could
 * read that origin's data. So every stored file gets a CSP that forbids script and sandboxes it, and any
 * type not on the list of passive raster images is a download, not a page.
 * nginx/nginx.conf.template repeats this for /media/ (test/e2e/nginx-config.test.ts checks the lists agree).
 */
import path from 'node:path';
import type { RequestHandler } from 'express';

export const STORED_FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/** Raster image types no browser executes: shown inline. Everything else (svg, html, xml, js, unknown) is an attachment. */
export const INLINE_IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  apng: 'image/apng',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  jxl: 'image/jxl',
  heic: 'image/heic',
  heif: 'image/heif',
  jp2: 'image/jp2',
};

const INLINE_MIMES = new Set([...Object.values(INLINE_IMAGE_TYPES), 'image/vnd.microsoft.icon']);

/** Browsers must not guess a type other than the one we send (a "text/plain" that sniffs as HTML). */
export const noSniff: RequestHandler = (_req, res, next) => {
  res.set('x-content-type-options', 'nosniff');
  next();
};

/** The headers of a stored file, by its media type or, for a file served by name, its extension. */
export function storedFileHeaders(type: { mime: string } | { fileName: string }): Record<string, string> {
  const inline = 'mime' in type ? INLINE_MIMES.has(type.mime.toLowerCase()) : Object.hasOwn(INLINE_IMAGE_TYPES, path.extname(type.fileName).slice(1).toLowerCase());
  return {
    'x-content-type-options': 'nosniff',
    'content-security-policy': STORED_FILE_CSP,
    ...(inline ? {} : { 'content-disposition': 'attachment' }),
  };
}
