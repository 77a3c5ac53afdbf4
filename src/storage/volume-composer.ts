/**
 * The volume's Composer: parts go to a FileComposer on a worker thread, a few MiB a message (the bytes
 * given as parts gathered into one transferred buffer; stored files as paths, read there). One thread per
 * store serves every file being composed, in order; it keeps the process alive only while one is open.
 * Where the worker's compiled file is absent (tests run from TypeScript sources) the same FileComposer
 * runs inline, a message a turn of the event loop.
 */
import { existsSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { isStored, type Composer, type Part, type PutResult } from './blob-store.js';
import { FileComposer, type ComposeReply, type ComposeRequest, type StoredFileRef } from './file-composer.js';

const WORKER_FILE = new URL('./compose-worker.js', import.meta.url);

/** Messages sent but not yet written, per file: the producer runs this far ahead of the disk. */
const WINDOW = 2;

interface Waiter {
  resolve: (r: ComposeReply) => void;
  reject: (err: Error) => void;
}

export class ComposeChannel {
  private worker?: Worker;
  private readonly inline = existsSync(fileURLToPath(WORKER_FILE)) ? undefined : new FileComposer();
  /** Per file: the replies awaited, by seq (`done` under -1), and its failure once it failed. */
  private readonly waiting = new Map<number, { waiters: Map<number, Waiter>; failed?: Error }>();
  private nextId = 0;

  open(): number {
    const id = this.nextId++;
    this.waiting.set(id, { waiters: new Map() });
    this.worker?.ref();
    return id;
  }

  /** Sends a request; resolves with its reply when `seq` is given (an add: its seq; end: -1). */
  send(req: ComposeRequest, seq?: number, transfer: ArrayBuffer[] = []): Promise<ComposeReply> | undefined {
    const file = this.waiting.get(req.id);
    const reply = seq === undefined || !file ? undefined : new Promise<ComposeReply>((resolve, reject) => {
      if (file.failed) reject(file.failed);
      else file.waiters.set(seq, { resolve, reject });
    });
    reply?.catch(() => undefined); // awaited by the composer in turn
    if (this.inline) {
      const composer = this.inline;
      void nextTurn().then(() => {
        const r = composer.handle(req);
        if (r) this.receive(r);
      });
    } else {
      this.thread().postMessage(req, transfer);
    }
    return reply;
  }

  close(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_FILE);
    worker.on('message', (r: ComposeReply) => this.receive(r));
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const file of this.waiting.values()) this.failFile(file, err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the compose thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private receive(r: ComposeReply): void {
    const file = this.waiting.get(r.id);
    if (!file) return;
    if (r.op === 'failed') return this.failFile(file, new Error(r.message));
    const key = r.op === 'added' ? r.seq : -1;
    file.waiters.get(key)?.resolve(r);
    file.waiters.delete(key);
  }

  private failFile(file: { waiters: Map<number, Waiter>; failed?: Error }, err: Error): void {
    file.failed ??= err;
    for (const w of file.waiters.values()) w.reject(err);
    file.waiters.clear();
  }
}

/** `pathOf` maps a key to its file; `tmp` and `target` are the file's temp path and final path (in one directory, made if missing). */
export function volumeComposer(channel: ComposeChannel, pathOf: (key: string) => string, tmp: string, target: string): Composer {
  const id = channel.open();
  let seq = 0;
  let failed: Error | undefined;
  const inFlight: Array<Promise<ComposeReply>> = [];
  const settle = <T>(p: Promise<T>): Promise<T> => p.catch((err: Error) => {
    failed ??= err;
    throw err;
  });
  channel.send({ op: 'open', id, tmp, target });
  return {
    async add(parts: readonly Part[]): Promise<void> {
      if (failed) throw failed;
      const given = parts.filter((p): p is Buffer => !isStored(p));
      const bytes = new Uint8Array(given.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of given) {
        bytes.set(b, at);
        at += b.length;
      }
      const refs = parts.map((p): number | StoredFileRef => (isStored(p) ? { key: p.key, bytes: p.bytes, path: pathOf(p.key) } : p.length));
      inFlight.push(channel.send({ op: 'add', id, seq, bytes, parts: refs }, seq++, [bytes.buffer]) as Promise<ComposeReply>);
      if (inFlight.length > WINDOW) await settle(inFlight.shift() as Promise<ComposeReply>);
    },
    async end(): Promise<PutResult> {
      try {
        if (failed) throw failed;
        const done = channel.send({ op: 'end', id }, -1) as Promise<ComposeReply>;
        for (const p of inFlight.splice(0)) await settle(p);
        const r = await settle(done);
        if (r.op !== 'done') throw new Error(`unexpected reply ${r.op}`);
        return { size: r.size, sha256: r.sha256 };
      } finally {
        channel.close(id);
      }
    },
    abort(err: Error): void {
      failed ??= err;
      channel.send({ op: 'abort', id });
      channel.close(id);
    },
  };
}
