/** What only a directory can show; the BlobStore promises themselves are in test/contract/blob-store.contract.ts. */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { VolumeBlobStore } from '../../../src/storage/volume-blob-store.js';
import { tempDir } from '../../helpers/temp.js';

describe('VolumeBlobStore', () => {
  const root = tempDir('blobs-');
  const blobs = new VolumeBlobStore(root, 'http://cdn.example/media/');

  it('writes the file at root/key', async () => {
    await blobs.put('images/ab/abc.png', Buffer.from('hello, images'));
    expect(fs.readFileSync(path.join(root, 'images/ab/abc.png'), 'utf8')).toBe('hello, images');
  });

  it('leaves no temp file behind when the stream fails', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(blobs.put('b/broken.bin', failing)).rejects.toThrow('source broke');
    expect(fs.readdirSync(path.join(root, 'b'))).toEqual([]);
  });

  it('replaces a file by rename, leaving no temp file', async () => {
    await blobs.put('c/x.txt', Buffer.from('one'));
    await blobs.put('c/x.txt', Buffer.from('two'));
    expect(fs.readdirSync(path.join(root, 'c'))).toEqual(['x.txt']);
  });

  it('writes again into a directory removed behind its back', async () => {
    await blobs.put('gone/one.bin', Buffer.from('1'));
    fs.rmSync(path.join(root, 'gone'), { recursive: true });
    await blobs.put('gone/two.bin', Buffer.from('2'));
    expect(fs.readFileSync(path.join(root, 'gone/two.bin'), 'utf8')).toBe('2');
  });

  it('does not count a directory as a file', async () => {
    await blobs.put('d/inner/f.txt', Buffer.from('f'));
    expect(await blobs.exists('d/inner')).toBe(false);
  });
});
