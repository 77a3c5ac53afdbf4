/**
 * The pixels of a small, plain PNG decoded here, exactly as sharp gives them to the perceptual hash
 * (`sharp(body).rotate().flatten({ background: '#ffffff' }).raw()`), or undefined for any other PNG.
 *
 * Why: sharp's fixed cost per call (building the pipeline, reading its options through N-API, handing the
 * work to libvips' threads) was ~0.4–0.7 ms of CPU per image whatever its size, the largest single cost of
 * a small image (icons, logos, spacers). Inflating and unfiltering a few hundred pixels costs microseconds.
 *
 * "Plain": 8-bit grey, grey + alpha, RGB or RGBA, or a palette of 1–8 bits with or without alpha (tRNS);
 * not interlaced; no chunk that could make libvips change the pixels (colour profile, gamma, chromaticities,
 * sRGB intent, EXIF orientation, significant bits, a colour key on a non-palette image, anything unknown);
 * well-formed to the byte. Anything else goes to sharp, so every image hashes as it did
 * (test/unit/scrape/png-pixels.test.ts compares both decoders on generated images of every kind here).
 */
import { inflateSync } from 'node:zlib';

export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Chunks that never change the decoded pixels (text, physical size, time). */
const INERT = new Set(['tEXt', 'zTXt', 'iTXt', 'pHYs', 'tIME']);

/** Decoded here only up to this many pixels (a larger image costs sharp's fixed work a small share). */
export const PLAIN_PNG_MAX_PIXELS = 160 * 160;

export function plainPngPixels(body: Uint8Array, maxPixels = PLAIN_PNG_MAX_PIXELS): Pixels | undefined {
  if (body.length < 8 + 25 + 12 || SIGNATURE.some((b, i) => body[i] !== b)) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 8;
  let header: { width: number; height: number; depth: number; colour: number } | undefined;
  let palette: Uint8Array | undefined;
  let alphas: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatDone = false;
  for (;;) {
    if (at + 12 > body.length) return undefined;
    const length = view.getUint32(at);
    const type = String.fromCharCode(body[at + 4]!, body[at + 5]!, body[at + 6]!, body[at + 7]!);
    const data = body.subarray(at + 8, at + 8 + length);
    if (length > 0x7fffffff || at + 12 + length > body.length) return undefined;
    at += 12 + length;
    if (!header) {
      if (type !== 'IHDR' || length !== 13) return undefined;
      const width = view.getUint32(at - length - 4);
      const height = view.getUint32(at - length);
      const [depth, colour, compression, filter, interlace] = data.subarray(8);
      if (compression !== 0 || filter !== 0 || interlace !== 0 || !width || !height || width * height > maxPixels) return undefined;
      if (!(colour === 3 ? depth === 1 || depth === 2 || depth === 4 || depth === 8 : depth === 8 && (colour === 0 || colour === 2 || colour === 4 || colour === 6))) return undefined;
      header = { width, height, depth: depth!, colour: colour! };
      continue;
    }
    if (type === 'IDAT') {
      if (idatDone || (header.colour === 3 && !palette)) return undefined;
      idat.push(data);
      continue;
    }
    if (idat.length) idatDone = true;
    if (type === 'IEND') {
      if (at !== body.length || !idat.length) return undefined;
      break;
    }
    if (type === 'PLTE') {
      if (header.colour !== 3 || palette || idat.length || length % 3 !== 0 || length === 0 || length / 3 > 1 << header.depth) return undefined;
      palette = data;
    } else if (type === 'tRNS') {
      if (header.colour !== 3 || !palette || alphas || idat.length || length > palette.length / 3) return undefined;
      alphas = data;
    } else if (!INERT.has(type)) {
      return undefined;
    }
  }
  const { width, height, depth, colour } = header;
  const samples = colour === 0 || colour === 3 ? 1 : colour === 4 ? 2 : colour === 2 ? 3 : 4;
  const rowBytes = Math.ceil((width * samples * depth) / 8);
  const expected = height * (rowBytes + 1);
  let raw: Buffer;
  try {
    // Bounded: a few bytes may inflate to gigabytes, and this runs on the event loop.
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch {
    return undefined;
  }
  if (raw.length !== expected) return undefined;
  const rows = unfilter(raw, rowBytes, height, Math.max(1, (samples * depth) >> 3));
  if (!rows) return undefined;
  if (colour === 3) return paletteImage(rows, width, height, depth, rowBytes, palette!, alphas);
  if (colour === 2) return { data: rows, width, height, channels: 3 };
  return colour === 0 ? asRgb(rows, width, height) : flattened(rows, width, height, samples);
}

/** Undoes the per-row filters in place, into a buffer without the filter bytes; undefined for an unknown filter. */
function unfilter(raw: Buffer, rowBytes: number, height: number, bpp: number): Uint8Array | undefined {
  const out = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)]!;
    const src = y * (rowBytes + 1) + 1;
    const row = y * rowBytes;
    const up = row - rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[up + x]! : 0;
      const c = y > 0 && x >= bpp ? out[up + x - bpp]! : 0;
      let v = raw[src + x]!;
      switch (filter) {
        case 0:
          break;
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          return undefined;
      }
      out[row + x] = v & 0xff;
    }
  }
  return out;
}

/** A palette image as libvips gives it: RGB, or RGBA (then flattened) when the palette has alpha. */
function paletteImage(rows: Uint8Array, width: number, height: number, depth: number, rowBytes: number, palette: Uint8Array, alphas?: Uint8Array): Pixels | undefined {
  const channels = alphas ? 4 : 3;
  const entries = palette.length / 3;
  const out = new Uint8Array(width * height * channels);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += channels) {
      const byte = rows[y * rowBytes + Math.floor(x / perByte)]!;
      const index = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
      if (index >= entries) return undefined;
      out[o] = palette[index * 3]!;
      out[o + 1] = palette[index * 3 + 1]!;
      out[o + 2] = palette[index * 3 + 2]!;
      if (alphas) out[o + 3] = index < alphas.length ? alphas[index]! : 255;
    }
  }
  return alphas ? flattened(out, width, height, 4) : { data: out, width, height, channels: 3 };
}

/**
 * Alpha flattened on white, as libvips' flatten does it in 8 bits: each colour band becomes
 * ⌊(v·α + 255·(255 − α)) / 255⌋ (checked against sharp for every v and α). Grey comes out as RGB, as
 * sharp's sRGB output makes it.
 */
function flattened(data: Uint8Array, width: number, height: number, channels: number): Pixels {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < data.length; i += channels, o += 3) {
    const alpha = data[i + channels - 1]!;
    if (channels === 2) out.fill(FLATTEN[(data[i]! << 8) | alpha]!, o, o + 3);
    else for (let b = 0; b < 3; b++) out[o + b] = FLATTEN[(data[i + b]! << 8) | alpha]!;
  }
  return { data: out, width, height, channels: 3 };
}

/** Grey as sharp's sRGB output gives it: the value in each of three bands. */
function asRgb(grey: Uint8Array, width: number, height: number): Pixels {
  const out = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) out.fill(grey[i]!, i * 3, i * 3 + 3);
  return { data: out, width, height, channels: 3 };
}

const FLATTEN = Uint8Array.from({ length: 256 * 256 }, (_, k) => {
  const v = k >> 8;
  const alpha = k & 0xff;
  return Math.floor((v * alpha + 255 * (255 - alpha)) / 255);
});
