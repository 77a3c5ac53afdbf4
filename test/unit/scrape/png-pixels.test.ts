/** The PNG decoder of the perceptual hash gives exactly sharp's pixels, or declines. */
import zlib from 'node:zlib';
import sharp from 'sharp';
import { dhash, dhashOfPixels, sharpPixels } from '../../../src/scrape/image-hash.js';
import { plainPngPixels } from '../../../src/scrape/png-pixels.js';

/** A deterministic stream of bytes, so a failure names the image that differs. */
function bytes(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) & 0xff;
  };
}

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

interface PngSpec {
  width: number;
  height: number;
  colour: 0 | 2 | 3 | 4 | 6;
  depth?: number;
  seed: number;
  /** Palette entries with alpha (tRNS), for colour 3. */
  alphas?: number;
  /** The compressed data cut into this many IDAT chunks. */
  idats?: number;
  extra?: Array<[string, Uint8Array]>;
  interlace?: number;
}

/** A PNG written by hand, each row with a random filter (the encoder's job is only to be valid). */
function encode(spec: PngSpec): Buffer {
  const { width, height, colour, seed } = spec;
  const depth = spec.depth ?? 8;
  const next = bytes(seed);
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colour];
  const rowBytes = Math.ceil((width * samples * depth) / 8);
  const bpp = Math.max(1, (samples * depth) >> 3);
  const entries = colour === 3 ? Math.min(1 << depth, 1 + (seed % (1 << depth))) : 0;
  const rows: Uint8Array[] = [];
  for (let y = 0; y < height; y++) {
    const row = new Uint8Array(rowBytes);
    for (let x = 0; x < rowBytes; x++) row[x] = next();
    if (colour === 3) {
      // Indices below the palette's size.
      const perByte = 8 / depth;
      for (let x = 0; x < width; x++) {
        const shift = 8 - depth * ((x % perByte) + 1);
        const i = Math.floor(x / perByte);
        row[i] = (row[i]! & ~(((1 << depth) - 1) << shift)) | ((next() % entries) << shift);
      }
    }
    // Alpha of 0 and 255 often, where rounding matters least and most.
    if (colour === 4 || colour === 6) for (let x = samples - 1; x < rowBytes; x += samples) row[x] = [0, 255, row[x]!][next() % 3]!;
    rows.push(row);
  }
  const raw: number[] = [];
  rows.forEach((row, y) => {
    const filter = next() % 5;
    raw.push(filter);
    for (let x = 0; x < rowBytes; x++) {
      const a = x >= bpp ? row[x - bpp]! : 0;
      const b = y > 0 ? rows[y - 1]![x]! : 0;
      const c = y > 0 && x >= bpp ? rows[y - 1]![x - bpp]! : 0;
      const p = a + b - c;
      const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][filter]!;
      raw.push((row[x]! - pred) & 0xff);
    }
  });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([depth, colour, 0, 0, spec.interlace ?? 0], 8);
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  for (const [type, data] of spec.extra ?? []) parts.push(chunk(type, data));
  if (colour === 3) {
    parts.push(chunk('PLTE', Uint8Array.from({ length: entries * 3 }, next)));
    if (spec.alphas) parts.push(chunk('tRNS', Uint8Array.from({ length: Math.min(spec.alphas, entries) }, (_, i) => [0, 255, next()][i % 3]!)));
  }
  const z = zlib.deflateSync(Buffer.from(raw));
  const n = spec.idats ?? 1;
  const step = Math.ceil(z.length / n);
  for (let i = 0; i < z.length; i += step) parts.push(chunk('IDAT', z.subarray(i, i + step)));
  parts.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

const text = new Uint8Array(Buffer.from('Comment\0made by a test', 'latin1'));

function specs(): PngSpec[] {
  const out: PngSpec[] = [];
  let seed = 1;
  const sizes = [[1, 1], [4, 4], [3, 7], [17, 5], [9, 8], [40, 33], [160, 160]] as const;
  for (const [width, height] of sizes) {
    for (const colour of [0, 2, 4, 6] as const) out.push({ width, height, colour, seed: seed++ });
    for (const depth of [1, 2, 4, 8]) {
      out.push({ width, height, colour: 3, depth, seed: seed++ });
      out.push({ width, height, colour: 3, depth, seed: seed++, alphas: 1 + (seed % 7) });
    }
  }
  out.push({ width: 30, height: 20, colour: 6, seed: seed++, idats: 4, extra: [['tEXt', text], ['pHYs', new Uint8Array(9)]] });
  return out;
}

describe('plainPngPixels', () => {
  it('decodes every plain PNG kind to exactly the pixels sharp gives the hash', async () => {
    for (const spec of specs()) {
      const body = encode(spec);
      const mine = plainPngPixels(body);
      const theirs = await sharpPixels(body, spec);
      const name = JSON.stringify({ ...spec, extra: undefined });
      expect({ name, mine: mine && { ...mine, data: Buffer.from(mine.data).toString('hex') } }).toEqual({
        name,
        mine: theirs && { ...theirs, data: Buffer.from(theirs.data).toString('hex') },
      });
    }
  });

  it('flattens every colour value at every alpha as libvips does', async () => {
    // 256 × 256 grey + alpha pixels: value v at alpha a.
    const raw = new Uint8Array(256 * 256 * 2);
    for (let v = 0; v < 256; v++) for (let a = 0; a < 256; a++) raw.set([v, a], (v * 256 + a) * 2);
    const body = await sharp(raw, { raw: { width: 256, height: 256, channels: 2 } }).png({ compressionLevel: 1 }).toBuffer();
    const mine = plainPngPixels(body, 256 * 256);
    const theirs = await sharp(body).flatten({ background: '#ffffff' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    expect(mine?.channels).toBe(theirs.info.channels);
    expect(Buffer.from(mine!.data).equals(theirs.data)).toBe(true);
  });

  it('hashes a small PNG as the pixels sharp decodes hash', async () => {
    for (const spec of specs().slice(0, 20)) {
      const body = encode(spec);
      const viaSharp = await sharpPixels(body, spec);
      expect(await dhash(body, spec)).toBe(dhashOfPixels(viaSharp!.data, viaSharp!.width, viaSharp!.height, viaSharp!.channels));
    }
  });

  it('declines what libvips may decode differently, and what is not well-formed', () => {
    const plain: PngSpec = { width: 8, height: 8, colour: 6, seed: 5 };
    expect(plainPngPixels(encode(plain))).toBeDefined();
    for (const type of ['gAMA', 'iCCP', 'sRGB', 'cHRM', 'eXIf', 'sBIT', 'cICP', 'bKGD']) {
      expect(plainPngPixels(encode({ ...plain, extra: [[type, new Uint8Array(4)]] }))).toBeUndefined();
    }
    expect(plainPngPixels(encode({ ...plain, interlace: 1 }))).toBeUndefined();
    expect(plainPngPixels(encode({ ...plain, depth: 16 }))).toBeUndefined();
    expect(plainPngPixels(encode({ ...plain, colour: 0, depth: 4 }))).toBeUndefined();
    expect(plainPngPixels(encode({ ...plain, width: 161, height: 160 }))).toBeUndefined();
    const whole = encode(plain);
    expect(plainPngPixels(whole.subarray(0, whole.length - 1))).toBeUndefined();
    expect(plainPngPixels(Buffer.concat([whole, Buffer.from([0])]))).toBeUndefined();
    expect(plainPngPixels(Buffer.from('not a png at all, not even close to one'))).toBeUndefined();
    // Data that inflates to far more than the header's size is refused (png-pixels.ts stops inflating there).
    const bomb = encode(plain);
    const at = bomb.indexOf('IDAT', 0, 'latin1') - 4;
    const z = zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024));
    expect(plainPngPixels(Buffer.concat([bomb.subarray(0, at), chunk('IDAT', z), chunk('IEND', new Uint8Array(0))]))).toBeUndefined();
  });
});
