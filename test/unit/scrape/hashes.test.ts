import sharp from 'sharp';
import { hamming } from '../../../src/scrape/hamming.js';
import { dhash, dhashOfPixels } from '../../../src/scrape/image-hash.js';
import { resizedKey, resizeImage } from '../../../src/scrape/image-resize.js';
import { simhash } from '../../../src/scrape/simhash.js';
import { gif, png } from '../../fixtures/images.js';

/** A picture with structure at every scale: a blob on a gradient, or its mirror image. */
function picture(width: number, height: number, mirrored = false): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = mirrored ? width - 1 - x : x;
      const blob = Math.hypot(u - width * 0.3, y - height * 0.4) < Math.min(width, height) * 0.25 ? 120 : 0;
      const v = Math.min(255, Math.round((u / width) * 120 + (y / height) * 60 + blob));
      raw.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('hamming', () => {
  it('counts differing bits of two 64-bit hex hashes', () => {
    expect(hamming('0000000000000000', '0000000000000000')).toBe(0);
    expect(hamming('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hamming('8000000000000001', '0000000000000000')).toBe(2);
    expect(hamming('00000000F0000000', '0000000000000000')).toBe(4);
  });

  it('rejects what is not a 64-bit hex hash', () => {
    expect(() => hamming('abc', '0000000000000000')).toThrow(TypeError);
    expect(() => hamming('zzzzzzzzzzzzzzzz', '0000000000000000')).toThrow(TypeError);
  });
});

describe('dHash', () => {
  it('keeps a re-encoded, resized copy within a few bits, and a different picture far away', async () => {
    const original = await picture(400, 300);
    const copy = await sharp(original).resize(123, 92).jpeg({ quality: 60 }).toBuffer();
    const other = await picture(400, 300, true);
    // As the service calls it, with the header's size: the 400×300 pictures are shrunk by libvips first, the copy decoded whole.
    const [a, b, c] = await Promise.all([dhash(original, { width: 400, height: 300 }), dhash(copy, { width: 123, height: 92 }), dhash(other, { width: 400, height: 300 })]);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(hamming(a!, b!)).toBeLessThanOrEqual(6);
    expect(hamming(a!, c!)).toBeGreaterThan(16);
  });

  it('hashes tiny images and GIFs, and gives undefined for what it cannot decode', async () => {
    expect(await dhash(gif())).toMatch(/^[0-9a-f]{16}$/);
    expect(await dhash(png(3, 2))).toMatch(/^[0-9a-f]{16}$/);
    expect(await dhash(Buffer.from('not an image'))).toBeUndefined();
  });

  it('gives about the same hash whether the image is decoded whole or shrunk first', async () => {
    const small = await picture(150, 100);
    expect(hamming((await dhash(small, { width: 150, height: 100 }))!, (await dhash(small))!)).toBeLessThanOrEqual(3);
  });

  it('averages each cell over its area exactly: a flat image is all zeros, a left-to-right fall all ones', () => {
    const flat = Buffer.alloc(37 * 29 * 3, 200);
    expect(dhashOfPixels(flat, 37, 29, 3)).toBe('0000000000000000');
    const fall = Buffer.alloc(90 * 8);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 90; x++) fall[y * 90 + x] = 255 - x;
    expect(dhashOfPixels(fall, 90, 8, 1)).toBe('ffffffffffffffff');
  });

  it('hashes 9×8 grey pixels by comparing each with its right neighbour, and a 2× enlargement the same', () => {
    const grid = Buffer.alloc(9 * 8);
    for (let i = 0; i < grid.length; i++) grid[i] = (i * 37) % 251;
    const bits: number[] = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits.push(grid[y * 9 + x]! > grid[y * 9 + x + 1]! ? 1 : 0);
    const expected = BigInt(`0b${bits.join('')}`).toString(16).padStart(16, '0');
    expect(dhashOfPixels(grid, 9, 8, 1)).toBe(expected);
    // The same picture, each pixel doubled, as RGBA with an alpha that must not count.
    const big = Buffer.alloc(18 * 16 * 4);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 18; x++) big.set([grid[(y >> 1) * 9 + (x >> 1)]!, grid[(y >> 1) * 9 + (x >> 1)]!, grid[(y >> 1) * 9 + (x >> 1)]!, x * 13], (y * 18 + x) * 4);
    expect(dhashOfPixels(big, 18, 16, 4)).toBe(expected);
  });

  it('makes colours grey as libvips does, so a colour image hashes as its libvips greyscale copy', async () => {
    const colours = Buffer.alloc(9 * 8 * 3);
    for (let i = 0; i < colours.length; i++) colours[i] = (i * 97 + (i % 3) * 51) % 256;
    const grey = await sharp(colours, { raw: { width: 9, height: 8, channels: 3 } }).greyscale().raw().toBuffer();
    expect(grey.length).toBe(9 * 8);
    expect(dhashOfPixels(colours, 9, 8, 3)).toBe(dhashOfPixels(grey, 9, 8, 1));
  });

  it('hashes an image smaller than its 9×8 cells', () => {
    // 3×2 grey: each pixel spans 3 cells across and 4 down, so every row of cells reads 10 10 10 200 200 200 30 30 30
    // (or 40… 250… 60…): only the sixth comparison (200 > 30) is true.
    const tiny = Buffer.from([10, 200, 30, 40, 250, 60]);
    expect(dhashOfPixels(tiny, 3, 2, 1)).toBe(BigInt(`0b${'00000100'.repeat(8)}`).toString(16).padStart(16, '0'));
  });
});

describe('SimHash', () => {
  const base = 'The quick brown fox jumps over the lazy dog near the river bank while the sun sets slowly behind the hills and birds fly home. '.repeat(4);

  it('puts a lightly edited text a few bits away and an unrelated text far away', () => {
    const edited = base.replace('lazy dog', 'sleepy dog');
    const unrelated = 'Quarterly revenue rose eleven percent as the company expanded its cloud services into new regional markets across Europe and Asia. '.repeat(4);
    expect(simhash(base)).toMatch(/^[0-9a-f]{16}$/);
    expect(hamming(simhash(base), simhash(edited))).toBeLessThanOrEqual(8);
    expect(hamming(simhash(base), simhash(unrelated))).toBeGreaterThan(16);
  });

  it('ignores case, punctuation and spacing', () => {
    expect(simhash('Hello,   World! How are you?')).toBe(simhash('hello world how are you'));
  });

  it('keeps its values (stored hashes are compared with new ones)', () => {
    expect(simhash(base)).toBe('5709cbde3944db48');
    expect(simhash('hi')).toBe('803b9d27ca59ae37');
    expect(simhash('one two')).toBe('240a5618a124c440');
    expect(simhash('Ünïcödé straße 東京 42, café au lait; ÉTÉ 2024')).toBe('7704e88325218cd9');
    // ASCII runs hashed as scanned, stretches with other characters (Greek final sigma included) through words().
    const mixed = `é ${'alpha beta gamma '.repeat(8)}ΟΔΥΣΣΕΥΣ. ΑΣ.Α ok ${'delta '.repeat(20)}Straße Σ`;
    expect(simhash(mixed)).toBe('3ba691e02def1dd5');
    expect(simhash(`${'Le café « crème » coûte 2,50 € — très cher! The quick brown fox jumps over the lazy dog. '.repeat(5)}日本語のテキスト。`)).toBe('69c5841d0646132b');
  });

  it('hashes short and empty texts', () => {
    expect(simhash('hi')).toMatch(/^[0-9a-f]{16}$/);
    expect(simhash('')).toBe('0000000000000000');
  });
});

describe('resize', () => {
  it('scales the longer side down to max_side in the asked format, never up', async () => {
    const original = await picture(400, 200);
    const webp = await resizeImage(original, { maxSide: 100, format: 'webp' });
    expect(webp).toMatchObject({ mime: 'image/webp', ext: 'webp', width: 100, height: 50 });
    expect((await sharp(webp!.body).metadata()).format).toBe('webp');
    const jpeg = await resizeImage(original, { maxSide: 1000, format: 'jpeg' });
    expect(jpeg).toMatchObject({ mime: 'image/jpeg', width: 400, height: 200 });
    const pngCopy = await resizeImage(original, { maxSide: 64, format: 'png' });
    expect(pngCopy).toMatchObject({ mime: 'image/png', width: 64, height: 32 });
    expect(await resizeImage(Buffer.from('nope'), { maxSide: 64, format: 'png' })).toBeUndefined();
  });

  it('keys the copy next to the original', () => {
    const sha = 'ab'.repeat(32);
    expect(resizedKey(sha, { maxSide: 512, format: 'jpeg' })).toBe(`images/ab/${sha}.512.jpg`);
  });
});
