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

export class WebhookEvents {
  /** Endpoints never change once set, and are set before their owner's first job: cache found and missing alike. */
  private readonly endpoints = new Map<string, WebhookEndpoint | null>();
  /** Whether a batch is a crawl (its events are named crawl.*): fixed at creation, cached. */
  private readonly crawls = new Map<string, boolean>();

  constructor(private readonly store: TaskStore, private readonly now: () => Date = () => new Date()) {}

  private async endpoint(ownerId: string): Promise<WebhookEndpoint | null> {
    if (this.endpoints.has(ownerId)) return this.endpoints.get(ownerId) ?? null;
    const e = await this.store.webhooks.getEndpoint(ownerId);
    if (this.endpoints.size > 10_000) this.endpoints.clear();
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
      if (this.crawls.size > 10_000) this.crawls.clear();
      this.crawls.set(batchId, crawl);
    }
    return crawl ? 'crawl' : 'batch';
  }

  async taskStarted(task: Task): Promise<void> {
    const own = await this.endpoint(task.id);
    if (own) await this.record(own, 'task.started', `started/${task.attempts}`, taskData(task));
    if (!task.batchId) return;
    const batch = await this.endpoint(task.batchId);
    if (batch) await this.record(batch, `${await this.prefix(task.batchId)}.started`, 'started', { id: task.batchId, started_at: task.startedAt ?? null });
  }

  async taskFinished(task: Task): Promise<void> {
    const own = await this.endpoint(task.id);
    if (own) await this.record(own, task.status === 'succeeded' ? 'task.completed' : 'task.failed', `finished/${task.attempts}`, taskData(task));
    if (!task.batchId) return;
    const batch = await this.endpoint(task.batchId);
    if (!batch) return;
    const finished = (await this.prefix(task.batchId)) === 'crawl' ? 'crawl.page_finished' : 'batch.task_finished';
    await this.record(batch, finished, `task/${task.id}/${task.attempts}/${task.finishedAt}`, { batch_id: task.batchId, task: taskData(task) });
    await this.batchMayHaveFinished(task.batchId);
  }

  /** After a task finished or a cancel: once nothing is left to run, the batch completed (or failed: nothing succeeded). */
  async batchMayHaveFinished(batchId: string): Promise<void> {
    const endpoint = await this.endpoint(batchId);
    if (!endpoint) return;
    const b = await this.store.batches.getBatch(batchId);
    if (!b || unfinishedCount(b.progress) > 0) return;
    const { counts } = b.progress;
    const prefix = b.crawl ? 'crawl' : 'batch';
    const event = counts.succeeded > 0 ? `${prefix}.completed` as const : `${prefix}.failed` as const;
    // Keyed by the finish: a retried batch that finishes again is a new event, two workers finishing its last tasks at once are one.
    const key = `done/${b.progress.lastFinishedAt ?? b.cancelledAt}/${counts.succeeded}/${counts.failed}`;
    await this.record(endpoint, event, key, { id: b.id, status: batchState(b), counts: { ...counts, finished: counts.succeeded + counts.failed }, cancelled_at: b.cancelledAt ?? null, links: { self: `/batches/${b.id}`, results: `/batches/${b.id}/results` } });
  }
}
