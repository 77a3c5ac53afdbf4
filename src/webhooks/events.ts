/**
 * Turns what happens to tasks and batches into webhook deliveries in the store. A delivery id is derived
 * from the event (e.g. the batch and its last finish), so two workers noticing one event record it once.
 */
import { createHash } from 'node:crypto';
import { batchState, unfinishedCount } from '../models/batch-progress.js';
import type { TaskStore } from '../models/task-store.js';
import type { Task } from '../models/task.js';
import { wantsEvent, type WebhookEndpoint, type WebhookEvent } from '../models/webhook.js';

const deliveryId = (key: string) => `msg_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;

/** A task as the events show it: enough to act on without another call. */
const taskData = (t: Task) => ({
  id: t.id, kind: t.kind, url: t.url, status: t.status, attempts: t.attempts, batch_id: t.batchId ?? null,
  error: t.error ? { code: t.error.code, message: t.error.message } : null, finished_at: t.finishedAt ?? null,
  links: { self: `/${t.kind}_tasks/${t.id}` },
});

/** Per-process memories are cleared past this many entries, so they stay bounded; forgetting only costs a store call. */
const REMEMBER = 10_000;

export class WebhookEvents {
  /** Endpoints never change once set, and are set before their owner's first job: cache found and missing alike. */
  private readonly endpoints = new Map<string, WebhookEndpoint | null>();
  /** Batches whose `batch.started` / `crawl.started` this process has recorded: the store would only refuse it again. */
  private readonly startedBatches = new Set<string>();
  /** Whether a batch is a crawl (its events are named crawl.*): fixed at creation, cached. */
  private readonly crawls = new Map<string, boolean>();

  constructor(private readonly store: TaskStore, private readonly now: () => Date = () => new Date()) {}

  private async endpoint(ownerId: string): Promise<WebhookEndpoint | null> {
    if (this.endpoints.has(ownerId)) return this.endpoints.get(ownerId) ?? null;
    const e = await this.store.webhooks.getEndpoint(ownerId);
    if (this.endpoints.size > REMEMBER) this.endpoints.clear();
    this.endpoints.set(ownerId, e);
    return e;
  }

  private async record(endpoint: WebhookEndpoint, event: WebhookEvent, key: string, data: unknown): Promise<void> {
    if (!wantsEvent(endpoint, event)) return;
    const now = this.now();
    const id = deliveryId(`${endpoint.ownerId}/${key}`);
    const payload = JSON.stringify({ type: event, timestamp: now.toISOString(), data });
    await this.store.webhooks.enqueue({ id, ownerId: endpoint.ownerId, event, url: endpoint.url, payload }, now);
  }

  private async prefix(batchId: string): Promise<'batch' | 'crawl'> {
    let crawl = this.crawls.get(batchId);
    if (crawl === undefined) {
      crawl = Boolean((await this.store.batches.getBatch(batchId))?.crawl);
      if (this.crawls.size > REMEMBER) this.crawls.clear();
      this.crawls.set(batchId, crawl);
    }
    return crawl ? 'crawl' : 'batch';
  }

  /**
   * A task's own endpoint. No store read for a batch's task (webhooks are given per batch) nor for a task the
   * store says has none (Task.hasWebhook false); one of unknown kind is looked up.
   */
  private ownEndpoint(task: Task): Promise<WebhookEndpoint | null> {
    return task.batchId || task.hasWebhook === false ? Promise.resolve(null) : this.endpoint(task.id);
  }

  async taskStarted(task: Task): Promise<void> {
    const own = await this.ownEndpoint(task);
    if (own) await this.record(own, 'task.started', `started/${task.attempts}`, taskData(task));
    if (!task.batchId || this.startedBatches.has(task.batchId)) return;
    const batch = await this.endpoint(task.batchId);
    if (batch) await this.record(batch, `${await this.prefix(task.batchId)}.started`, 'started', { id: task.batchId, started_at: task.startedAt ?? null });
    if (this.startedBatches.size > REMEMBER) this.startedBatches.clear();
    this.startedBatches.add(task.batchId);
  }

  async taskFinished(task: Task): Promise<void> {
    const own = await this.ownEndpoint(task);
    if (own) await this.record(own, task.status === 'succeeded' ? 'task.completed' : 'task.failed', `finished/${task.attempts}`, taskData(task));
    if (!task.batchId) return;
    const batch = await this.endpoint(task.batchId);
    if (!batch) return;
    const finished = (await this.prefix(task.batchId)) === 'crawl' ? 'crawl.page_finished' : 'batch.task_finished';
    await this.record(batch, finished, `task/${task.id}/${task.attempts}/${task.finishedAt}`, { batch_id: task.batchId, task: taskData(task) });
    await this.batchMayHaveFinished(task.batchId);
  }

  /**
   * Whether some task of the batch is still queued or running: two indexed reads of at most one task each
   * (on the batch-and-status index), so every task finish costs O(1) store work; the batch's progress counts
   * the whole batch and is read only once this finds nothing left. Queued is read before running: a task moves
   * queued → running, so one moving between the reads is still seen (a lease expiry moving it back is caught
   * by the progress read after).
   */
  private async hasUnfinished(batchId: string): Promise<boolean> {
    for (const status of ['queued', 'running'] as const) {
      const page = await this.store.batches.listBatchTasks(batchId, { status, limit: 1 });
      if (page.items.length > 0) return true;
    }
    return false;
  }

  /** After a task finished or a cancel: once nothing is left to run, the batch completed (or failed: nothing succeeded). */
  async batchMayHaveFinished(batchId: string): Promise<void> {
    const endpoint = await this.endpoint(batchId);
    if (!endpoint) return;
    const prefix = await this.prefix(batchId);
    if (!wantsEvent(endpoint, `${prefix}.completed`) && !wantsEvent(endpoint, `${prefix}.failed`)) return;
    if (await this.hasUnfinished(batchId)) return;
    const b = await this.store.batches.getBatch(batchId);
    if (!b || unfinishedCount(b.progress) > 0) return;
    const { counts } = b.progress;
    const event = counts.succeeded > 0 ? `${prefix}.completed` as const : `${prefix}.failed` as const;
    // Keyed by the finish: a retried batch that finishes again is a new event, two workers finishing its last tasks at once are one.
    const key = `done/${b.progress.lastFinishedAt ?? b.cancelledAt}/${counts.succeeded}/${counts.failed}`;
    await this.record(endpoint, event, key, { id: b.id, status: batchState(b), counts: { ...counts, finished: counts.succeeded + counts.failed }, cancelled_at: b.cancelledAt ?? null, links: { self: `/batches/${b.id}`, results: `/batches/${b.id}/results` } });
  }
}
