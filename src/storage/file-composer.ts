/**
 * Writes files made of parts with blocking calls, as `tar` does: each stored file is read straight into one
 * reused chunk buffer, and a full chunk is hashed and written with one call. No buffer per file, no trip
 * through the thread pool per call. It runs on a worker thread (compose-worker.ts), so the event loop that
 * serves the API never waits on it, or inline where no worker can load (tests run from TypeScript sources).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { storedFileError, type StoredSize } from './blob-store.js';

export interface StoredFileRef extends StoredSize {
  path: string;
}

export type ComposeRequest =
  | { op: 'open'; id: number; tmp: string; target: string }
  /** `parts`: a number takes that many bytes from `bytes` (the parts given as bytes, end to end); a ref, a whole file. */
  | { op: 'add'; id: number; seq: number; bytes: Uint8Array; parts: Array<number | StoredFileRef> }
  | { op: 'end'; id: number }
  | { op: 'abort'; id: number };

export type ComposeReply =
  | { op: 'added'; id: number; seq: number }
  | { op: 'done'; id: number; size: number; sha256: string }
  | { op: 'failed'; id: number; message: string };

const CHUNK_BYTES = 4 * 1024 * 1024;

interface OpenFile {
  fd: number;
  tmp: string;
  target: string;
  hash: Hash;
  size: number;
  chunk: Buffer;
  fill: number;
}

export class FileComposer {
  private readonly files = new Map<number, OpenFile>();
  private readonly probe = Buffer.alloc(1);

  /** Handles one request; answers `failed` (once) for a file that could not be written, and removes it. */
  handle(req: ComposeRequest): ComposeReply | undefined {
    try {
      return this.run(req);
    } catch (err) {
      this.drop(req.id);
      return { op: 'failed', id: req.id, message: (err as Error).message };
    }
  }

  private run(req: ComposeRequest): ComposeReply | undefined {
    if (req.op === 'open') {
      mkdirSync(path.dirname(req.tmp), { recursive: true });
      const fd = openSync(req.tmp, 'wx');
      this.files.set(req.id, { fd, tmp: req.tmp, target: req.target, hash: createHash('sha256'), size: 0, chunk: Buffer.allocUnsafeSlow(CHUNK_BYTES), fill: 0 });
      return undefined;
    }
    const f = this.files.get(req.id);
    if (!f) return undefined; // failed or aborted already: its caller was told
    if (req.op === 'abort') return void this.drop(req.id);
    if (req.op === 'end') {
      this.flush(f);
      closeSync(f.fd);
      f.fd = -1;
      renameSync(f.tmp, f.target);
      this.files.delete(req.id);
      return { op: 'done', id: req.id, size: f.size, sha256: f.hash.digest('hex') };
    }
    let at = 0;
    for (const part of req.parts) {
      if (typeof part === 'number') {
        this.copy(f, req.bytes.subarray(at, at + part));
        at += part;
      } else {
        this.readFile(f, part);
      }
    }
    return { op: 'added', id: req.id, seq: req.seq };
  }

  private copy(f: OpenFile, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      if (f.fill === CHUNK_BYTES) this.flush(f);
      const n = Math.min(CHUNK_BYTES - f.fill, bytes.length - at);
      f.chunk.set(bytes.subarray(at, at + n), f.fill);
      f.fill += n;
      at += n;
    }
  }

  /** Reads a whole stored file into the chunk; it must be exactly the size recorded. */
  private readFile(f: OpenFile, file: StoredFileRef): void {
    let fd: number;
    try {
      fd = openSync(file.path, 'r');
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? storedFileError(file, null) : err;
    }
    try {
      let got = 0;
      while (got < file.bytes) {
        if (f.fill === CHUNK_BYTES) this.flush(f);
        const n = readSync(fd, f.chunk, f.fill, Math.min(CHUNK_BYTES - f.fill, file.bytes - got), got);
        if (n === 0) throw storedFileError(file, got);
        f.fill += n;
        got += n;
      }
      if (readSync(fd, this.probe, 0, 1, got) !== 0) throw storedFileError(file, got + 1);
    } finally {
      closeSync(fd);
    }
  }

  private flush(f: OpenFile): void {
    const data = f.chunk.subarray(0, f.fill);
    f.hash.update(data);
    for (let at = 0; at < data.length;) at += writeSync(f.fd, data, at);
    f.size += f.fill;
    f.fill = 0;
  }

  private drop(id: number): void {
    const f = this.files.get(id);
    if (!f) return;
    this.files.delete(id);
    if (f.fd >= 0) closeSync(f.fd);
    rmSync(f.tmp, { force: true });
  }
}
