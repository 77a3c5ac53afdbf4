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

  describe('a content-addressed put', () => {
    const ca = { contentAddressed: true };

    it('creates a new file in place, with no temp file on the way', async () => {
      const put = await blobs.put('ca/new.png', Buffer.from('new bytes'), ca);
      expect(put.size).toBe(9);
      expect(fs.readdirSync(path.join(root, 'ca'))).toEqual(['new.png']);
      expect(fs.readFileSync(path.join(root, 'ca/new.png'), 'utf8')).toBe('new bytes');
    });

    it('replaces a file a write cut short left under the key, whole', async () => {
      fs.mkdirSync(path.join(root, 'cb'), { recursive: true });
      fs.writeFileSync(path.join(root, 'cb/cut.png'), 'half');
      await blobs.put('cb/cut.png', Buffer.from('half and the rest'), ca);
      expect(fs.readdirSync(path.join(root, 'cb'))).toEqual(['cut.png']);
      expect(fs.readFileSync(path.join(root, 'cb/cut.png'), 'utf8')).toBe('half and the rest');
    });

    it('takes the same bytes many times at once and leaves one whole file, every put resolving after it is whole', async () => {
      const body = Buffer.alloc(256 * 1024, 7);
      const seen = await Promise.all(Array.from({ length: 8 }, () => blobs.put('cc/same.png', body, ca).then(() => fs.readFileSync(path.join(root, 'cc/same.png')))));
      for (const read of seen) expect(read.equals(body)).toBe(true);
      expect(fs.readdirSync(path.join(root, 'cc'))).toEqual(['same.png']);
    });

    it('writes again into a directory removed behind its back', async () => {
      await blobs.put('cd/one.png', Buffer.from('1'), ca);
      fs.rmSync(path.join(root, 'cd'), { recursive: true });
      await blobs.put('cd/two.png', Buffer.from('2'), ca);
      expect(fs.readdirSync(path.join(root, 'cd'))).toEqual(['two.png']);
    });
  });
});
