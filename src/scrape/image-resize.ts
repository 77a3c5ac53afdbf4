/**
 * A resized copy of an image for datasets that want a fixed size: the longer side scaled down to
 * `maxSide` (never enlarged), EXIF orientation applied, first frame only, re-encoded as WebP, JPEG or
 * PNG (JPEG flattens transparency on white). Stored next to the original under a key derived from the
 * original's sha256 and the options, so the same request never encodes twice.
 */
import sharp from 'sharp';
import type { ResizeOptions } from '../models/task.js';

export interface ResizedImage {
  body: Buffer;
  mime: string;
  ext: string;
  width: number;
  height: number;
}

const FORMATS = {
  webp: { mime: 'image/webp', ext: 'webp' },
  jpeg: { mime: 'image/jpeg', ext: 'jpg' },
  png: { mime: 'image/png', ext: 'png' },
} as const;

/** images/ab/<sha256>.<maxSide>.<ext>: next to the original (images/ab/<sha256>.<ext>). */
export function resizedKey(sha256: string, options: ResizeOptions): string {
  return `images/${sha256.slice(0, 2)}/${sha256}.${options.maxSide}.${FORMATS[options.format].ext}`;
}

export function resizedMime(options: ResizeOptions): string {
  return FORMATS[options.format].mime;
}

/** Undefined when sharp cannot decode the image: the original is kept, without a copy. */
export async function resizeImage(body: Buffer, options: ResizeOptions): Promise<ResizedImage | undefined> {
  try {
    let pipeline = sharp(body, { failOn: 'none', limitInputPixels: 100_000_000 })
      .rotate()
      .resize(options.maxSide, options.maxSide, { fit: 'inside', withoutEnlargement: true });
    if (options.format === 'jpeg') pipeline = pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 85, mozjpeg: true });
    else if (options.format === 'webp') pipeline = pipeline.webp({ quality: 85 });
    else pipeline = pipeline.png({ compressionLevel: 9 });
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { body: data, ...FORMATS[options.format], width: info.width, height: info.height };
  } catch {
    return undefined;
  }
}
