/**
 * The JSON body of a finished task, serialized once per version of it: a client polling a finished task (the
 * commonest read) otherwise had it read in full, presented, serialized and hashed for its ETag on every request.
 */
import type { Request, Response } from 'express';
import type { Task, TaskHead } from '../models/task.js';

interface Entry {
  version: string;
  body: Buffer;
  /** The body's length as res.send writes it in Content-Length. */
  length: string;
  etag?: string;
}

type Present = (task: Task) => unknown;

/**
 * The version of a finished task's body, or undefined for an unfinished one (a running task changes, e.g. its
 * image counts, without a new version). Every write that changes what is presented sets updated_at (the
 * decisions in models/ always do; only dispatch receipts, not shown, do not), and the version adds status and
 * attempts, so a task retried and finished again within one millisecond of its last finish is not mistaken for
 * the old one either.
 */
function versionOf(task: TaskHead): string | undefined {
  if (task.status !== 'succeeded' && task.status !== 'failed') return undefined;
  return `${task.updatedAt} ${task.status} ${task.attempts}`;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export class FinishedTaskBodies {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly present: Present, private readonly max = 1000) {}

  /**
   * Answers from the cache when it holds this version of the task (true), else does nothing (false): the caller
   * then reads the task in full and calls send(). The caller has already checked that this caller may see the
   * task: the body does not depend on who asks.
   */
  sendCached(req: Request, res: Response, head: TaskHead): boolean {
    const version = versionOf(head);
    const entry = version === undefined ? undefined : this.entries.get(head.id);
    if (!entry || entry.version !== version) return false;
    this.write(req, res, entry);
    return true;
  }

  /** Answers as `res.json(present(task))` does (same body, Content-Type, ETag, 304 when fresh). */
  send(req: Request, res: Response, task: Task): void {
    const version = versionOf(task);
    if (version === undefined) return void res.json(this.present(task));
    let entry = this.entries.get(task.id);
    if (!entry || entry.version !== version) {
      const body = Buffer.from(JSON.stringify(this.present(task)));
      // The app's own ETag rule (Express's weak hash by default; none when the app turned ETags off).
      const etagOf = req.app.get('etag fn') as ((body: Buffer) => string | undefined) | undefined;
      entry = { version, body, length: String(body.length), etag: etagOf?.(body) };
      this.remember(task.id, entry);
    }
    this.write(req, res, entry);
  }

  /**
   * What res.json → res.send do for this body, in the same header order, without their per-request type
   * lookups and checks (a visible share of a cached GET): Content-Type, Content-Length, ETag; 304 without
   * those entity headers when the client's copy is fresh; no body for HEAD.
   */
  private write(req: Request, res: Response, entry: Entry): void {
    res.setHeader('Content-Type', JSON_TYPE);
    res.setHeader('Content-Length', entry.length);
    if (entry.etag) res.setHeader('ETag', entry.etag);
    // req.fresh is false without a validator; asked only when the client sent one (it costs a header walk).
    if ((req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) && req.fresh) {
      res.statusCode = 304;
      res.removeHeader('Content-Type');
      res.removeHeader('Content-Length');
      return void res.end();
    }
    if (req.method === 'HEAD') return void res.end();
    res.end(entry.body);
  }

  private remember(id: string, entry: Entry): void {
    this.entries.delete(id);
    // A Map iterates in insertion order: the first key is the one least recently (re)serialized.
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(id, entry);
  }
}
