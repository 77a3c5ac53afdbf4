/**
 * An images task's filters (docs/images.md): the reason an image is not kept, or undefined when it
 * passes. Sizes come from the file's own header; a size filter cannot pass an image whose size could not
 * be read.
 */
import type { ImageFilters } from '../models/task.js';

export function filterReason(filters: ImageFilters | undefined, file: { mime: string; width?: number; height?: number }): string | undefined {
  if (!filters) return undefined;
  const { mimeTypes, minWidth, minHeight, maxAspectRatio } = filters;
  if (mimeTypes && !mimeTypes.includes(file.mime.toLowerCase())) return `type ${file.mime} is not in mime_types (${mimeTypes.join(', ')})`;
  const sized = minWidth !== undefined || minHeight !== undefined || maxAspectRatio !== undefined;
  if (!sized) return undefined;
  const { width, height } = file;
  if (!width || !height) return 'size unknown: cannot check min_width, min_height or max_aspect_ratio';
  if (minWidth !== undefined && width < minWidth) return `width ${width} px is under min_width ${minWidth}`;
  if (minHeight !== undefined && height < minHeight) return `height ${height} px is under min_height ${minHeight}`;
  const ratio = Math.max(width, height) / Math.min(width, height);
  if (maxAspectRatio !== undefined && ratio > maxAspectRatio) return `aspect ratio ${ratio.toFixed(2)} is over max_aspect_ratio ${maxAspectRatio}`;
  return undefined;
}
