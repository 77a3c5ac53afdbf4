/** What a downloaded file really is: the bytes decide, never the URL or the server's Content-Type. */
import { createHash } from 'node:crypto';
import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import { ScrapeError } from './scrape-error.js';

export interface ImageInfo {
  mime: string;
  ext: string;
  width?: number;
  height?: number;
  /** Hex; the content address of the file. */
  sha256: string;
}

export async function inspectImage(body: Buffer): Promise<ImageInfo> {
  const detected = await fileTypeFromBuffer(body);
  // file-type has no SVG detector (it is text), and may call an SVG with an XML prolog application/xml.
  const type = detected?.mime.startsWith('image/') ? detected : looksLikeSvg(body) ? { mime: 'image/svg+xml', ext: 'svg' } : undefined;
  if (!type) {
    throw new ScrapeError('not_an_image', detected ? `file is ${detected.mime}, not an image` : 'file is not a recognised image format');
  }
  const { width, height } = dimensions(body);
  return { mime: type.mime, ext: type.ext, width, height, sha256: createHash('sha256').update(body).digest('hex') };
}

function dimensions(body: Buffer): { width?: number; height?: number } {
  try {
    const size = imageSize(body);
    return { width: size.width, height: size.height };
  } catch {
    // Sizes are nice to have; a format image-size cannot read is still a stored image.
    return {};
  }
}

/**
 * An <svg> root element after an optional BOM, XML declaration, comments, processing instructions and
 * doctype. Only the head of the file is examined, generously, since licence comments can be long.
 */
const SVG_START = /^\uFEFF?\s*(?:(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE\s[^>[]*(?:\[[\s\S]*?\])?\s*>)\s*)*<svg[\s>/:]/i;

export function looksLikeSvg(body: Buffer): boolean {
  return SVG_START.test(body.subarray(0, 64 * 1024).toString('utf8'));
}

/**
 * The bytes of a data: URI (base64 or percent-encoded), or null when it is malformed. Any media type is
 * decoded: inspectImage judges the bytes, not the label.
 */
export function decodeDataUri(uri: string): Buffer | null {
  const match = /^\s*data:([^,]*),([\s\S]*)$/i.exec(uri);
  if (!match) return null;
  const [, meta = '', payload = ''] = match;
  const bytes = percentDecode(payload);
  if (!/;\s*base64\s*$/i.test(meta)) return bytes;
  // WHATWG "forgiving base64": whitespace ignored, padding optional, anything else outside the alphabet fails.
  const b64 = bytes.toString('latin1').replace(/[\t\n\f\r ]+/g, '');
  const unpadded = b64.length % 4 === 0 ? b64.replace(/={1,2}$/, '') : b64;
  if (unpadded.length % 4 === 1 || !/^[A-Za-z0-9+/]*$/.test(unpadded)) return null;
  return Buffer.from(unpadded, 'base64');
}

function percentDecode(text: string): Buffer {
  const input = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    const hex = byte === 0x25 ? input.toString('latin1', i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out[length++] = parseInt(hex, 16);
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  return out.subarray(0, length);
}
