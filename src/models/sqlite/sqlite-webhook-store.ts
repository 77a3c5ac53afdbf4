/** WebhookStore on the SQLite file of the task store: each delivery update is one immediate transaction. */
import type Database from 'better-sqlite3';
import { decodeTaskCursor, encodeTaskCursor } from '../ids.js';
import { checkPageLimit, pageOf } from '../paging.js';
import type { Page } from '../task.js';
import { applyDeliveryChange, newDelivery, type DeliveryChange, type NewDelivery, type WebhookDelivery, type WebhookEndpoint } from '../webhook.js';
import type { WebhookStore } from '../webhook-store.js';

/** Prepared once: a task's events may read its endpoint at every start and finish. */
function prepareStatements(db: Database.Database) {
  return {
    getDoc: db.prepare<[string], { doc: string }>('SELECT doc FROM webhook_deliveries WHERE id = ?'),
    updateDoc: db.prepare<[string, string, string, string], void>('UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, doc = ? WHERE id = ?'),
    setEndpoint: db.prepare<[string, string], void>('INSERT OR REPLACE INTO webhook_endpoints (owner_id, doc) VALUES (?, ?)'),
    getEndpoint: db.prepare<[string], { doc: string }>('SELECT doc FROM webhook_endpoints WHERE owner_id = ?'),
    enqueue: db.prepare<[string, string, string, string, string, string], void>(
      'INSERT OR IGNORE INTO webhook_deliveries (id, owner_id, status, created_at, next_attempt_at, doc) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    due: db.prepare<[string, number], { id: string }>("SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?"),
    deliveriesAfter: db.prepare<[string, string, string, number], { doc: string }>(
      'SELECT doc FROM webhook_deliveries WHERE owner_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?',
    ),
    deliveries: db.prepare<[string, number], { doc: string }>('SELECT doc FROM webhook_deliveries WHERE owner_id = ? ORDER BY created_at, id LIMIT ?'),
  };
}

export class SqliteWebhookStore implements WebhookStore {
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly updateTx: Database.Transaction<(id: string, decide: (d: WebhookDelivery) => DeliveryChange | null) => { delivery: WebhookDelivery; changed: boolean } | null>;

  constructor(db: Database.Database) {
    const stmt = (this.stmt = prepareStatements(db));
    this.updateTx = db.transaction((id, decide) => {
      const row = stmt.getDoc.get(id);
      if (!row) return null;
      const before = JSON.parse(row.doc) as WebhookDelivery;
      const change = decide(before);
      if (!change) return { delivery: before, changed: false };
      const after = applyDeliveryChange(before, change);
      stmt.updateDoc.run(after.status, after.nextAttemptAt, JSON.stringify(after), id);
      return { delivery: after, changed: true };
    });
  }

  async setEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    this.stmt.setEndpoint.run(endpoint.ownerId, JSON.stringify(endpoint));
  }

  async getEndpoint(ownerId: string): Promise<WebhookEndpoint | null> {
    const row = this.stmt.getEndpoint.get(ownerId);
    return row ? (JSON.parse(row.doc) as WebhookEndpoint) : null;
  }

  async enqueue(input: NewDelivery, now: Date): Promise<boolean> {
    const d = newDelivery(input, now);
    const info = this.stmt.enqueue.run(d.id, d.ownerId, d.status, d.createdAt, d.nextAttemptAt, JSON.stringify(d));
    return info.changes === 1;
  }

  async due(now: Date, limit: number): Promise<string[]> {
    return this.stmt.due.all(now.toISOString(), limit).map((r) => r.id);
  }

  async update(id: string, decide: (d: WebhookDelivery) => DeliveryChange | null) {
    return this.updateTx.immediate(id, decide);
  }

  async listDeliveries(ownerId: string, query: { limit: number; cursor?: string }): Promise<Page<WebhookDelivery>> {
    checkPageLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    const rows = after
      ? this.stmt.deliveriesAfter.all(ownerId, after.createdAt, after.id, query.limit + 1)
      : this.stmt.deliveries.all(ownerId, query.limit + 1);
    return pageOf(rows.map((r) => JSON.parse(r.doc) as WebhookDelivery), query.limit, (d) => encodeTaskCursor(d.createdAt, d.id));
  }
}
