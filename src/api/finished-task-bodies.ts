/**
 * The JSON body of a finished task, serialized once per version of it: a client polling a finished task (the
 * commonest read) otherwise had it presented, serialized and hashed for its ETag on every request.
 */
import type { Request, Response } from 'express';
import type { Task } from '../models/task.js';

interface Entry {
  version: string;
  body: Buffer;
  etag?: string;
}

type Present = (task: Task) => unknown;

export class FinishedTaskBodies {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly present: Present, private readonly max = 1000) {}

  /**
   * Answers as `res.json(present(task))` does (same body, Content-Type, ETag, 304 when fresh). Only a finished
   * task is kept: a running one changes (image counts) without a new version. Every write that changes what is
   * presented sets updated_at (the decisions in models/ always do; only dispatch receipts, not shown, do not),
   * and the version adds status and attempts, so a task retried and finished again within one millisecond of
   * its last finish is not mistaken for the old one either.
   * The caller has already checked that this caller may see the task: the body does not depend on who asks.
   */
  send(req: Request, res: Response, task: Task): void {
    if (task.status !== 'succeeded' && task.status !== 'failed') return void res.json(this.present(task));
    const version = `${task.updatedAt} ${task.status} ${task.attempts}`;
    let entry = this.entries.get(task.id);
    if (!entry || entry.version !== version) {
      const body = Buffer.from(JSON.stringify(this.present(task)));
      // The app's own ETag rule (Express's weak hash by default; none when the app turned ETags off).
      const etagOf = req.app.get('etag fn') as ((body: Buffer) => string | undefined) | undefined;
      entry = { version, body, etag: etagOf?.(body) };
      this.remember(task.id, entry);
    }
    if (entry.etag) res.set('ETag', entry.etag);
    res.set('Content-Type', 'application/json').send(entry.body);
  }

  private remember(id: string, entry: Entry): void {
    this.entries.delete(id);
    // A Map iterates in insertion order: the first key is the one least recently (re)serialized.
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(id, entry);
  }
}
