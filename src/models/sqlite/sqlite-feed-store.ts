/** FeedStore on the SQLite file of the task store: the in-process queue's backlog, marked on the task rows. */
import type Database from 'better-sqlite3';
import type { BatchJob } from '../batch.js';
import type { FeedStore } from '../feed-store.js';
import type { TaskKind } from '../task.js';
import { transactionsOf, type Transactions } from './transactions.js';

const CHUNK = 500;

function prepare(db: Database.Database) {
  return {
    take: db.prepare<[{ limit: number }], { id: string; kind: TaskKind; dispatch_pending_since: string }>(`
      SELECT id, kind, dispatch_pending_since FROM tasks
      WHERE dispatch_pending_since IS NOT NULL AND status IN ('queued', 'running')
      ORDER BY dispatch_pending_since, id LIMIT @limit`),
    clear: db.prepare<[string], void>('UPDATE tasks SET dispatch_pending_since = NULL WHERE id = ?'),
    mark: db.prepare<[{ id: string; now: string }], void>(`
      UPDATE tasks SET dispatch_pending_since = @now WHERE id = @id AND status IN ('queued', 'running')`),
    markUnfinished: db.prepare<[{ now: string }], void>(`
      UPDATE tasks SET dispatch_pending_since = @now WHERE status IN ('queued', 'running') AND dispatch_pending_since IS NULL`),
  };
}

export class SqliteFeedStore implements FeedStore {
  private readonly tx: Transactions;
  private readonly stmt: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.stmt = prepare(db);
    this.tx = transactionsOf(db);
  }

  async takeWaiting(limit: number): Promise<BatchJob[]> {
    return this.tx.immediate((): BatchJob[] => {
      const rows = this.stmt.take.all({ limit });
      for (const r of rows) this.stmt.clear.run(r.id);
      return rows.map((r) => ({ taskId: r.id, kind: r.kind }));
    });
  }

  async markWaiting(taskIds: readonly string[]): Promise<void> {
    const now = new Date().toISOString();
    for (let i = 0; i < taskIds.length; i += CHUNK) {
      this.tx.immediate(() => {
        for (const id of taskIds.slice(i, i + CHUNK)) this.stmt.mark.run({ id, now });
      });
    }
  }

  async markUnfinishedWaiting(): Promise<number> {
    return this.stmt.markUnfinished.run({ now: new Date().toISOString() }).changes;
  }
}
