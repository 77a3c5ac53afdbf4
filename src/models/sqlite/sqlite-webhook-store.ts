/** WebhookStore on the SQLite file of the task store: each delivery update is one immediate transaction. */
import type Database from 'better-sqlite3';
import { decodeTaskCursor, encodeTaskCursor } from '../ids.js';
import { checkPageLimit, pageOf } from '../paging.js';
import type { Page } from '../task.js';
import { applyDeliveryChange, newDelivery, type DeliveryChange, type NewDelivery, type WebhookDelivery, type WebhookEndpoint } from '../webhook.js';
import type { WebhookStore } from '../webhook-store.js';

export class SqliteWebhookStore implements WebhookStore {
  private readonly updateTx: Database.Transaction<(id: string, decide: (d: WebhookDelivery) => DeliveryChange | null) => { delivery: WebhookDelivery; changed: boolean } | null>;

  constructor(private readonly db: Database.Database) {
    this.updateTx = db.transaction((id, decide) => {
      const row = db.prepare('SELECT doc FROM webhook_deliveries WHERE id = ?').get(id) as { doc: string } | undefined;
      if (!row) return null;
      const before = JSON.parse(row.doc) as WebhookDelivery;
      const change = decide(before);
      if (!change) return { delivery: before, changed: false };
      const after = applyDeliveryChange(before, change);
      db.prepare('UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, doc = ? WHERE id = ?').run(after.status, after.nextAttemptAt, JSON.stringify(after), id);
      return { delivery: after, changed: true };
    });
  }

  async setEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO webhook_endpoints (owner_id, doc) VALUES (?, ?)').run(endpoint.ownerId, JSON.stringify(endpoint));
  }

  async getEndpoint(ownerId: string): Promise<WebhookEndpoint | null> {
    const row = this.db.prepare('SELECT doc FROM webhook_endpoints WHERE owner_id = ?').get(ownerId) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as WebhookEndpoint) : null;
  }

  async enqueue(input: NewDelivery, now: Date): Promise<boolean> {
    const d = newDelivery(input, now);
    const info = this.db
      .prepare('INSERT OR IGNORE INTO webhook_deliveries (id, owner_id, status, created_at, next_attempt_at, doc) VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.id, d.ownerId, d.status, d.createdAt, d.nextAttemptAt, JSON.stringify(d));
    return info.changes === 1;
  }

  async due(now: Date, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare("SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?")
      .all(now.toISOString(), limit) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async update(id: string, decide: (d: WebhookDelivery) => DeliveryChange | null) {
    return this.updateTx.immediate(id, decide);
  }

  async listDeliveries(ownerId: string, query: { limit: number; cursor?: string }): Promise<Page<WebhookDelivery>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const rows = (after
      ? this.db.prepare('SELECT doc FROM webhook_deliveries WHERE owner_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?').all(ownerId, after.createdAt, after.id, query.limit + 1)
      : this.db.prepare('SELECT doc FROM webhook_deliveries WHERE owner_id = ? ORDER BY created_at, id LIMIT ?').all(ownerId, query.limit + 1)) as Array<{ doc: string }>;
    return pageOf(rows.map((r) => JSON.parse(r.doc) as WebhookDelivery), query.limit, (d) => encodeTaskCursor(d.createdAt, d.id));
  }
}
