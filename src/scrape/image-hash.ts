/**
 * Perceptual hash of an image: dHash, 64 bits as 16 hex digits. The image (first frame, alpha flattened on
 * white, EXIF orientation applied) is reduced to 9×8 grey cells, each the mean grey (libvips' greyscale) of
 * its area; each bit says whether a cell is brighter than its right neighbour. Re-encoding, resizing and small
 * edits move few bits; `hamming(a, b) <= 10` is a common near-duplicate threshold for 64-bit dHash
 * (docs/near-duplicates.md).
 *
 * sharp decodes (off the event loop, on the libuv pool) and the cells are averaged here, exactly, in integers.
 * Letting libvips make the 9×8 grey image itself (greyscale + Lanczos resize) cost about 1.5 ms of CPU per
 * image whatever its size, three quarters of a small image's whole cost; averaging a decoded thumbnail in
 * JavaScript costs microseconds. A large image is first shrunk by libvips (JPEG shrink-on-load, box
 * averaging) to SHRUNK pixels, so the work here stays bounded and the cells still average its whole area.
 */
import sharp from 'sharp';
import { bitsToHex } from './hamming.js';
import { plainPngPixels, PLAIN_PNG_MAX_PIXELS, type Pixels } from './png-pixels.js';

/** Images of at most this many pixels are decoded whole and averaged here; larger ones are shrunk first. */
const DECODE_WHOLE = PLAIN_PNG_MAX_PIXELS;
/** What a large image is shrunk to: 16×16 pixels per cell. */
const SHRUNK = { width: 9 * 16, height: 8 * 16 };

const COLS = 9;
const ROWS = 8;

/**
 * Undefined when sharp cannot decode the format (ICO, some SVGs…): the image is kept, without a hash.
 * `size` (from the file's header, when known) says whether the image is small enough to decode whole; a
 * small plain PNG is decoded here rather than by sharp (png-pixels.ts: the same pixels, without sharp's
 * fixed cost per call).
 */
export async function dhash(body: Buffer, size?: { width?: number; height?: number }): Promise<string | undefined> {
  const plain = decodesWhole(size) ? plainPngPixels(body) : undefined;
  const pixels = plain ?? (await sharpPixels(body, size));
  return pixels && dhashOfPixels(pixels.data, pixels.width, pixels.height, pixels.channels);
}

/** Whether an image of this size (from its header) is decoded whole; an unknown size is shrunk first. */
export const decodesWhole = (size?: { width?: number; height?: number }): boolean =>
  !!size?.width && !!size.height && size.width * size.height <= DECODE_WHOLE;

/** The pixels the hash reads, decoded by sharp; undefined when it cannot decode the image. */
export async function sharpPixels(body: Buffer, size?: { width?: number; height?: number }): Promise<Pixels | undefined> {
  try {
    let image = sharp(body, { failOn: 'none', limitInputPixels: 100_000_000 }).rotate().flatten({ background: '#ffffff' });
    // Grey first, as for a small image here: a cell averages the pixels' greys, not the grey of averaged colours.
    if (!decodesWhole(size)) image = image.greyscale().resize(SHRUNK.width, SHRUNK.height, { fit: 'fill', kernel: 'linear' });
    const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch {
    return undefined;
  }
}

/**
 * dHash of decoded 8-bit pixels (1–2 channels: grey; 3–4: sRGB, made grey as greyOf says; a fourth or second
 * channel, alpha, is ignored). Cell boundaries fall between pixels: a pixel counts in each cell by the share of it the cell
 * covers. Measured in units of 1/COLS pixel across and 1/ROWS down, every overlap is a whole number, so the
 * sums are exact integers (below 2^53 for any image sharp accepts) and a flat image hashes to all zeros.
 */
export function dhashOfPixels(data: Uint8Array, width: number, height: number, channels: number): string {
  const across = overlaps(width, COLS);
  const down = overlaps(height, ROWS);
  const cells = new Float64Array(ROWS * COLS);
  const row = new Float64Array(COLS);
  const rgb = channels >= 3;
  for (let y = 0; y < height; y++) {
    row.fill(0);
    let i = y * width * channels;
    for (let x = 0; x < width; x++, i += channels) {
      const grey = rgb ? greyOf(data[i]!, data[i + 1]!, data[i + 2]!) : data[i]!;
      for (const [c, w] of across[x]!) row[c]! += grey * w;
    }
    for (const [r, w] of down[y]!) for (let c = 0; c < COLS; c++) cells[r * COLS + c]! += row[c]! * w;
  }
  const bits: number[] = [];
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS - 1; c++) bits.push(cells[r * COLS + c]! > cells[r * COLS + c + 1]! ? 1 : 0);
  return bitsToHex(bits);
}

/** sRGB 8-bit value → linear light. */
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => (v <= 10 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
/** The linear luminance at which the 8-bit grey value k begins (k - 0.5 encoded back), for k = 1..255. */
const GREY_STARTS = Float64Array.from({ length: 255 }, (_, i) => {
  const e = (i + 0.5) / 255;
  return e <= 0.04045 ? e / 12.92 : ((e + 0.055) / 1.055) ** 2.4;
});

/**
 * The 8-bit grey of an sRGB pixel as libvips' greyscale makes it (and as the hashes were made before):
 * Rec. 709 luminance in linear light, encoded back with the sRGB curve and rounded.
 */
function greyOf(r: number, g: number, b: number): number {
  const y = 0.2126 * LINEAR[r]! + 0.7152 * LINEAR[g]! + 0.0722 * LINEAR[b]!;
  let lo = 0;
  let hi = 255;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (GREY_STARTS[mid - 1]! <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * For each of `pixels` source pixels, the cells (of `cells` across the same length) it overlaps and by how
 * much: pixel p spans [p·cells, (p+1)·cells) and cell k spans [k·pixels, (k+1)·pixels), in integers.
 */
function overlaps(pixels: number, cells: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  for (let p = 0; p < pixels; p++) {
    const lo = p * cells;
    const hi = lo + cells;
    const parts: Array<[number, number]> = [];
    for (let k = Math.floor(lo / pixels); k < cells && k * pixels < hi; k++) {
      const w = Math.min(hi, (k + 1) * pixels) - Math.max(lo, k * pixels);
      if (w > 0) parts.push([k, w]);
    }
    out.push(parts);
  }
  return out;
}
