/**
 * Perceptual hash of an image: dHash, 64 bits as 16 hex digits. The image (first frame, alpha flattened on
 * white, EXIF orientation applied) is reduced to 9×8 grey pixels; each bit says whether a pixel is brighter
 * than its right neighbour. Re-encoding, resizing and small edits move few bits; `hamming(a, b) <= 10` is a
 * common near-duplicate threshold for 64-bit dHash (docs/near-duplicates.md). sharp decodes off the
 * event loop (libuv pool).
 */
import sharp from 'sharp';
import { bitsToHex } from './hamming.js';

/** Undefined when sharp cannot decode the format (ICO, some SVGs…): the image is kept, without a hash. */
export async function dhash(body: Buffer): Promise<string | undefined> {
  try {
    const pixels = await sharp(body, { failOn: 'none', limitInputPixels: 100_000_000 })
      .rotate()
      .flatten({ background: '#ffffff' })
      .greyscale()
      .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    const bits: number[] = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits.push(pixels[y * 9 + x]! > pixels[y * 9 + x + 1]! ? 1 : 0);
    return bitsToHex(bits);
  } catch {
    return undefined;
  }
}
