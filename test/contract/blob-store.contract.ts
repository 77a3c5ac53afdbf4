/** The BlobStore contract: every adapter (volume, S3) runs these same tests. */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { BlobStore } from '../../src/storage/blob-store.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface BlobStoreUnderTest {
  blobs: BlobStore;
  /** The public base URL the store was opened with. */
  publicBase: string;
  /** Bodies above this many bytes take the adapter's large-file path (S3: multipart). */
  largeBytes: number;
  close(): Promise<void>;
}

/** Chunks of `total` random bytes, as a producer that writes big files (exports) would stream them. */
function chunked(total: number, chunk = 256 * 1024): { body: Buffer; stream: () => Readable } {
  const body = randomBytes(total);
  return {
    body,
    stream: () =>
      Readable.from(
        (function* () {
          for (let at = 0; at < total; at += chunk) yield body.subarray(at, Math.min(at + chunk, total));
        })(),
      ),
  };
}

export function describeBlobStoreContract(name: string, open: () => Promise<BlobStoreUnderTest>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStoreUnderTest;
    let blobs: BlobStore;
    let n = 0;
    // Each test writes under its own prefix, so the suites can share a bucket or directory.
    const key = (rest: string) => `t${n}/${rest}`;
    beforeAll(async () => {
      store = await open();
      blobs = store.blobs;
    });
    beforeEach(() => void n++);
    afterAll(async () => {
      await store?.close();
    });

    it('writes a buffer, reports its size and sha256, and the next read sees it', async () => {
      const data = Buffer.from('hello, images');
      expect(await blobs.put(key('images/ab/abc.png'), data)).toEqual({ size: data.length, sha256: sha256(data) });
      expect(await blobs.exists(key('images/ab/abc.png'))).toBe(true);
      expect(await buffer((await blobs.get(key('images/ab/abc.png')))!)).toEqual(data);
    });

    it('writes a stream, measuring it on the way', async () => {
      const put = await blobs.put(key('a/stream.bin'), Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
      expect(put).toEqual({ size: 4, sha256: sha256(Buffer.from('abcd')) });
      expect((await buffer((await blobs.get(key('a/stream.bin')))!)).toString()).toBe('abcd');
    });

    it('writes an empty file', async () => {
      expect(await blobs.put(key('empty.txt'), Buffer.alloc(0))).toEqual({ size: 0, sha256: sha256(Buffer.alloc(0)) });
      expect(await buffer((await blobs.get(key('empty.txt')))!)).toEqual(Buffer.alloc(0));
    });

    it('writes a large streamed file intact (the large-file path: multipart for S3)', async () => {
      const { body, stream } = chunked(store.largeBytes * 2 + 12345);
      expect(await blobs.put(key('exports/big.tar'), stream())).toEqual({ size: body.length, sha256: sha256(body) });
      expect(sha256(await buffer((await blobs.get(key('exports/big.tar')))!))).toBe(sha256(body));
    });

    it('writes a large buffer intact', async () => {
      const body = randomBytes(store.largeBytes + 1000);
      expect(await blobs.put(key('big.bin'), body)).toEqual({ size: body.length, sha256: sha256(body) });
      expect(sha256(await buffer((await blobs.get(key('big.bin')))!))).toBe(sha256(body));
    });

    it('leaves no file behind when the source stream fails, small or large', async () => {
      const failing = (bytes: number) =>
        Readable.from(
          (async function* () {
            for (let sent = 0; sent < bytes; sent += 64 * 1024) yield randomBytes(64 * 1024);
            throw new Error('source broke');
          })(),
        );
      await expect(blobs.put(key('broken/small.bin'), failing(64 * 1024))).rejects.toThrow('source broke');
      await expect(blobs.put(key('broken/large.bin'), failing(store.largeBytes * 2))).rejects.toThrow('source broke');
      expect(await blobs.exists(key('broken/small.bin'))).toBe(false);
      expect(await blobs.exists(key('broken/large.bin'))).toBe(false);
      expect(await blobs.get(key('broken/large.bin'))).toBeNull();
    });

    it('replaces a file written again with other bytes', async () => {
      await blobs.put(key('c/x.txt'), Buffer.from('one'));
      await blobs.put(key('c/x.txt'), Buffer.from('two'));
      expect((await buffer((await blobs.get(key('c/x.txt')))!)).toString()).toBe('two');
    });

    it('takes the same bytes twice, at once, and keeps one intact file', async () => {
      const data = randomBytes(50_000);
      const results = await Promise.all([blobs.put(key('same.bin'), data), blobs.put(key('same.bin'), data), blobs.put(key('same.bin'), Buffer.from(data))]);
      for (const r of results) expect(r).toEqual({ size: data.length, sha256: sha256(data) });
      expect(await buffer((await blobs.get(key('same.bin')))!)).toEqual(data);
    });

    it('reads several whole files at once, in the order asked, empty ones included', async () => {
      const bodies = [randomBytes(70_000), Buffer.alloc(0), Buffer.from('third')];
      const files = await Promise.all(bodies.map(async (b, i) => ({ key: key(`many/${i}.bin`), bytes: (await blobs.put(key(`many/${i}.bin`), b)).size })));
      expect(await blobs.readMany(files)).toEqual(bodies);
      expect(await blobs.readMany([])).toEqual([]);
    });

    it('refuses to read a file that is missing or not the size recorded', async () => {
      await blobs.put(key('sized.bin'), Buffer.from('12345'));
      await expect(blobs.readMany([{ key: key('sized.bin'), bytes: 5 }, { key: key('nope/gone.bin'), bytes: 5 }])).rejects.toThrow(`stored file ${key('nope/gone.bin')} is missing`);
      await expect(blobs.readMany([{ key: key('sized.bin'), bytes: 4 }])).rejects.toThrow('is longer than the 4 bytes recorded');
      await expect(blobs.readMany([{ key: key('sized.bin'), bytes: 6 }])).rejects.toThrow('is shorter than the 6 bytes recorded');
      await expect(blobs.readMany([{ key: '../escape', bytes: 1 }])).rejects.toThrow('invalid key');
    });

    it('composes a file of bytes and whole stored files, in order, visible only once ended', async () => {
      const image = randomBytes(5 * 1024 * 1024 + 3); // larger than one chunk or group of the adapters
      const small = Buffer.from('small');
      await blobs.put(key('parts/image.bin'), image);
      await blobs.put(key('parts/small.bin'), small);
      const composer = blobs.compose(key('exports/composed.tar'));
      await composer.add([Buffer.from('head:'), { key: key('parts/image.bin'), bytes: image.length }, Buffer.alloc(0)]);
      await composer.add([{ key: key('parts/small.bin'), bytes: small.length }, Buffer.from(':tail')]);
      expect(await blobs.exists(key('exports/composed.tar'))).toBe(false);
      const whole = Buffer.concat([Buffer.from('head:'), image, small, Buffer.from(':tail')]);
      expect(await composer.end()).toEqual({ size: whole.length, sha256: sha256(whole) });
      expect(sha256(await buffer((await blobs.get(key('exports/composed.tar')))!))).toBe(sha256(whole));
    });

    it('fails a composed file whose stored part is missing or not its size, and leaves nothing under its key', async () => {
      await blobs.put(key('parts/five.bin'), Buffer.from('12345'));
      for (const [part, message] of [[{ key: key('parts/gone.bin'), bytes: 5 }, 'is missing'], [{ key: key('parts/five.bin'), bytes: 4 }, 'is longer than the 4 bytes recorded']] as const) {
        const composer = blobs.compose(key('exports/broken.tar'));
        const added = composer.add([Buffer.from('x'), part]);
        await expect(added.then(() => composer.end())).rejects.toThrow(message);
        expect(await blobs.exists(key('exports/broken.tar'))).toBe(false);
      }
    });

    it('leaves nothing under the key of an aborted composition', async () => {
      const composer = blobs.compose(key('exports/aborted.tar'));
      await composer.add([Buffer.from('some bytes')]);
      composer.abort(new Error('export failed'));
      await new Promise((r) => setTimeout(r, 50));
      expect(await blobs.exists(key('exports/aborted.tar'))).toBe(false);
    });

    it('answers null / false for a missing file', async () => {
      expect(await blobs.get(key('nope/missing.png'))).toBeNull();
      expect(await blobs.exists(key('nope/missing.png'))).toBe(false);
    });

    it.each(['../escape', 'a/../../b', '/abs/path', 'a//b', '.hidden', 'a/./b', ''])('refuses the key %p', async (bad) => {
      await expect(blobs.put(bad, Buffer.from('x'))).rejects.toThrow('invalid key');
      await expect(blobs.get(bad)).rejects.toThrow('invalid key');
      await expect(blobs.exists(bad)).rejects.toThrow('invalid key');
    });

    it('links each file under the configured public base', () => {
      expect(blobs.publicUrl('images/ab/abc.png')).toBe(`${store.publicBase.replace(/\/+$/, '')}/images/ab/abc.png`);
    });
  });
}
