import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { VolumeBlobStore } from '../../../src/storage/volume-blob-store.js';
import { tempDir } from '../../helpers/temp.js';

describe('VolumeBlobStore', () => {
  const root = tempDir('blobs-');
  const blobs = new VolumeBlobStore(root, 'http://cdn.example/media/');

  it('writes a buffer and reports size and sha256', async () => {
    const data = Buffer.from('hello, images');
    const put = await blobs.put('images/ab/abc.png', data);
    expect(put).toEqual({ size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    expect(fs.readFileSync(path.join(root, 'images/ab/abc.png'))).toEqual(data);
    expect(await blobs.exists('images/ab/abc.png')).toBe(true);
    expect(await text((await blobs.get('images/ab/abc.png'))!)).toBe('hello, images');
  });

  it('writes a stream', async () => {
    const put = await blobs.put('a/stream.bin', Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    expect(put.size).toBe(4);
  });

  it('leaves neither the file nor a temp file behind when the stream fails', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(blobs.put('b/broken.bin', failing)).rejects.toThrow('source broke');
    expect(fs.readdirSync(path.join(root, 'b'))).toEqual([]);
  });

  it('replaces a file atomically', async () => {
    await blobs.put('c/x.txt', Buffer.from('one'));
    await blobs.put('c/x.txt', Buffer.from('two'));
    expect(fs.readFileSync(path.join(root, 'c/x.txt'), 'utf8')).toBe('two');
    expect(fs.readdirSync(path.join(root, 'c'))).toEqual(['x.txt']);
  });

  it('writes again into a directory removed behind its back', async () => {
    await blobs.put('gone/one.bin', Buffer.from('1'));
    fs.rmSync(path.join(root, 'gone'), { recursive: true });
    await blobs.put('gone/two.bin', Buffer.from('2'));
    expect(fs.readFileSync(path.join(root, 'gone/two.bin'), 'utf8')).toBe('2');
  });

  it('answers null / false for a missing file', async () => {
    expect(await blobs.get('nope/missing.png')).toBeNull();
    expect(await blobs.exists('nope/missing.png')).toBe(false);
  });

  it.each(['../escape', 'a/../../b', '/abs/path', 'a//b', '.hidden', 'a/./b', ''])('refuses the key %p', async (key) => {
    await expect(blobs.put(key, Buffer.from('x'))).rejects.toThrow('invalid key');
  });

  it('builds public URLs under the configured base', () => {
    expect(blobs.publicUrl('images/ab/abc.png')).toBe('http://cdn.example/media/images/ab/abc.png');
  });
});
