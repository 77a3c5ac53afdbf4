/** BlobStore on a filesystem directory (the shared volume in cluster mode). */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable} from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, PutResult } from './blob-store.js';

const SAFE_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i;

export class InvalidKeyError extends Error {}

export class VolumeBlobStore implements BlobStore {
  /** Directories known to exist: content addressing spreads files over 256 of them, so mkdir once each. */
  private readonly dirs = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly publicBaseUrl: string,
  ) {}

  private resolve(key: string): string {
    // Keys come from our own code, but a bad one must never escape the root.
    if (!SAFE_KEY.test(key) || key.split('/').some((p) => p === '..' || p === '.')) throw new InvalidKeyError(`invalid key: ${key}`);
    return path.join(this.root, key);
  }

  async put(key: string, data: Buffer | Readable): Promise<PutResult> {
    const target = this.resolve(key);
    const dir = path.dirname(target);
    await this.ensureDir(dir);
    // Temp file in the same directory, then rename: readers never see a partial file.
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    if (Buffer.isBuffer(data)) {
      // The common case (images are buffered under their byte limit): two syscalls fewer than a stream.
      try {
        await fs.writeFile(tmp, data, { flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          this.dirs.delete(dir); // removed behind our back: make it again
          await this.ensureDir(dir);
          await fs.writeFile(tmp, data, { flag: 'wx' });
        });
        await fs.rename(tmp, target);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        throw err;
      }
      return { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    }
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(data, meter, createWriteStream(tmp, { flags: 'wx' }));
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    await fs.mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }

  async get(key: string): Promise<Readable | null> {
    const file = this.resolve(key);
    try {
      await fs.access(file);
    } catch {
      return null;
    }
    return createReadStream(file);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.stat(this.resolve(key))).isFile();
    } catch {
      return false;
    }
  }

  publicUrl(key: string): string {
    return `${this.publicBaseUrl.replace(/\/+$/, '')}/${key}`;
  }
}
