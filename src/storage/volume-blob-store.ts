/** BlobStore on a filesystem directory (the shared volume in cluster mode). */
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, readSync, rename as renameCb, writeFile as writeFileCb } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { checkKey, joinUrl, storedFileError, type BlobStore, type Composer, type PutOptions, type PutResult, type StoredSize } from './blob-store.js';
import { ComposeChannel, volumeComposer } from './volume-composer.js';
import { createMeter, sha256Hex } from './meter.js';

/**
 * The callback forms, for the write of every image: fs/promises' writeFile goes through a FileHandle (an
 * object with its own close tracking, and chunked writes checking for an abort signal) and cost about twice
 * the main-thread time of the callback form per small file (measured on 2 KiB files).
 */
const writeFile = promisify(writeFileCb);
const rename = promisify(renameCb);

export class VolumeBlobStore implements BlobStore {
  /** Directories known to exist: content addressing spreads files over 256 of them, so mkdir once each. */
  private readonly dirs = new Set<string>();
  /**
   * Temp names: this store's random prefix and a counter, so a write costs no random bytes of its own.
   * Processes sharing the volume have different prefixes; `wx` refuses a clash anyway.
   */
  private readonly tmpPrefix = `.tmp-${randomBytes(6).toString('hex')}-`;
  private tmpCount = 0;
  private readonly composing = new ComposeChannel();

  constructor(
    private readonly root: string,
    private readonly publicBaseUrl: string,
  ) {}

  private resolve(key: string): string {
    return path.join(this.root, checkKey(key));
  }

  async put(key: string, data: Buffer | Readable, options?: PutOptions): Promise<PutResult> {
    const target = this.resolve(key);
    const dir = path.dirname(target);
    await this.ensureDir(dir);
    if (options?.contentAddressed && Buffer.isBuffer(data) && (await this.createInPlace(target, data))) return bufferResult(data);
    // Temp file in the same directory, then rename: readers never see a partial file.
    const tmp = path.join(dir, `${this.tmpPrefix}${(this.tmpCount++).toString(36)}`);
    if (Buffer.isBuffer(data)) {
      // The common case (images are buffered under their byte limit): two syscalls fewer than a stream.
      try {
        await writeFile(tmp, data, { flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          this.dirs.delete(dir); // removed behind our back: make it again
          await this.ensureDir(dir);
          await writeFile(tmp, data, { flag: 'wx' });
        });
        await rename(tmp, target);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        throw err;
      }
      return bufferResult(data);
    }
    const meter = createMeter();
    const out = createWriteStream(tmp, { flags: 'wx' });
    try {
      await pipeline(data, meter.stream, out);
      await fs.rename(tmp, target);
    } catch (err) {
      // A source that fails at once can reject the pipeline before the file's open lands: removing it then
      // would miss the file the open creates a moment later.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return meter.result();
  }

  /**
   * A new content-addressed file written straight under its key (open with O_EXCL, write, close): no temp
   * name and no rename, one filesystem call of four fewer for every new image. False when the key is taken
   * (stored before, or being written, or left half-written by a write cut short) or its directory is gone:
   * the caller then writes beside it and renames, which replaces it whole with the same bytes. A write that
   * fails here (a full disk) may leave part of the file under the key; it is not removed, because another
   * put of the same bytes may have renamed a whole file there meanwhile and resolved. Nothing refers to the
   * key until a put of it resolves, and that put replaces the part (PutOptions.contentAddressed).
   */
  private async createInPlace(target: string, data: Buffer): Promise<boolean> {
    try {
      await writeFile(target, data, { flag: 'wx' });
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT') {
        this.dirs.delete(path.dirname(target)); // removed behind our back: the temp path makes it again
        return false;
      }
      throw err;
    }
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

  /**
   * Blocking open/read/close, one read a file, into one buffer for the lot: for files of tens of KiB this
   * is 4-6x faster than a stream or readFile each (whose every step is a trip through the thread pool),
   * as `tar` reads. It runs after a turn of the event loop, so requests waiting are served first, and the
   * caller keeps a call to a few MiB. Each read asks for one byte more than recorded: getting it means the
   * file is longer (the next file's read then overwrites that byte).
   */
  async readMany(files: readonly StoredSize[]): Promise<Buffer[]> {
    const paths = files.map((f) => this.resolve(f.key));
    await nextTurn();
    const all = Buffer.allocUnsafeSlow(files.reduce((n, f) => n + f.bytes, 0) + 1);
    const out: Buffer[] = [];
    let at = 0;
    files.forEach((file, i) => {
      let fd: number;
      try {
        fd = openSync(paths[i] as string, 'r');
      } catch (err) {
        throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? storedFileError(file, null) : err;
      }
      try {
        let got = 0;
        for (;;) {
          const n = readSync(fd, all, at + got, file.bytes + 1 - got, got);
          got += n;
          if (n === 0 || got > file.bytes) break;
        }
        if (got !== file.bytes) throw storedFileError(file, got);
      } finally {
        closeSync(fd);
      }
      out.push(all.subarray(at, at + file.bytes));
      at += file.bytes;
    });
    return out;
  }

  /** Written by a worker thread with blocking reads and writes (volume-composer.ts), temp file then rename. */
  compose(key: string): Composer {
    const target = this.resolve(key);
    const tmp = path.join(path.dirname(target), `${this.tmpPrefix}${(this.tmpCount++).toString(36)}`);
    return volumeComposer(this.composing, (k) => this.resolve(k), tmp, target);
  }

  async exists(key: string): Promise<boolean> {
    const file = this.resolve(key);
    try {
      return (await fs.stat(file)).isFile();
    } catch {
      return false;
    }
  }

  publicUrl(key: string): string {
    return joinUrl(this.publicBaseUrl, key);
  }
}

/**
 * The PutResult of a buffer, its sha256 computed only when read: an image's writer already knows the hash
 * (it is the key), and hashing every image twice was a visible share of the CPU.
 */
function bufferResult(data: Buffer): PutResult {
  let sha256: string | undefined;
  return {
    size: data.length,
    get sha256() {
      return (sha256 ??= sha256Hex(data));
    },
  };
}
