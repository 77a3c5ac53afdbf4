import { createHash } from 'node:crypto';

const EXT = /^[a-z0-9]{1,8}$/;

/** Content-addressed file key: images/ab/abcdef….png */
export function imageKey(sha256: string, ext: string): string {
  const safeExt = EXT.test(ext) ? ext : 'bin';
  return `images/${sha256.slice(0, 2)}/${sha256}.${safeExt}`;
}

/**
 * A data: URI can be megabytes long; the dedupe key stands for it by its hash so the unique index
 * stays small. The same inline image on two pages is still one record.
 */
export function dataUriSourceKey(uri: string): string {
  const mime = /^data:([^;,]*)/i.exec(uri)?.[1]?.toLowerCase() || 'application/octet-stream';
  return `data:${mime};sha256,${createHash('sha256').update(uri).digest('hex')}`;
}
