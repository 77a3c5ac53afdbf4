/** API keys and usage counters in the standalone SQLite file (tables from schema.ts, migration 2). */
import type Database from 'better-sqlite3';
import { newIdWithTime } from '../ids.js';
import {
  type ApiKey, type ApiKeyStore, type Scope, type UsageQuery, type UsageRow, type UsageStore, type UsageTotal, INTERVAL_MS,
} from '../ops-store.js';

interface KeyRow {
  id: string;
  name: string;
  scopes: string;
  created_at: string;
  revoked_at: string | null;
}

function toKey(r: KeyRow): ApiKey {
  const key: ApiKey = { id: r.id, name: r.name, scopes: JSON.parse(r.scopes) as Scope[], createdAt: r.created_at };
  if (r.revoked_at !== null) key.revokedAt = r.revoked_at;
  return key;
}

export class SqliteApiKeyStore implements ApiKeyStore {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      insert: db.prepare<[Record<string, unknown>], void>(`
        INSERT INTO api_keys (id, name, scopes, hash, created_at) VALUES (@id, @name, @scopes, @hash, @created_at)`),
      byHash: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE hash = ?'),
      all: db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'),
      revoke: db.prepare<[{ id: string; now: string }], { id: string }>(`
        UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @now) WHERE id = @id RETURNING id`),
    };
  }

  async createKey(input: { name: string; scopes: Scope[]; hash: string }): Promise<ApiKey> {
    const { id, ms } = newIdWithTime();
    const row = { id, name: input.name, scopes: JSON.stringify(input.scopes), hash: input.hash, created_at: new Date(ms).toISOString() };
    this.stmt.insert.run(row);
    return toKey({ ...row, revoked_at: null });
  }

  async findKeyByHash(hash: string): Promise<ApiKey | null> {
    const row = this.stmt.byHash.get(hash);
    return row ? toKey(row) : null;
  }

  async listKeys(): Promise<ApiKey[]> {
    return this.stmt.all.all().map(toKey);
  }

  async revokeKey(id: string): Promise<boolean> {
    return this.stmt.revoke.get({ id, now: new Date().toISOString() }) !== undefined;
  }
}

export class SqliteUsageStore implements UsageStore {
  private readonly add;

  constructor(private readonly db: Database.Database) {
    const upsert = db.prepare<[Record<string, unknown>], void>(`
      INSERT INTO usage (source, minute, metric, key, ip, path, host, n)
      VALUES (@source, @minute, @metric, @key, @ip, @path, @host, @n)
      ON CONFLICT DO UPDATE SET n = n + excluded.n`);
    this.add = db.transaction((source: string, rows: UsageRow[]) => {
      for (const r of rows) upsert.run({ ...r, source });
    });
  }

  async addUsage(source: string, rows: UsageRow[]): Promise<void> {
    if (rows.length) this.add.immediate(source, rows);
  }

  async queryUsage(q: UsageQuery): Promise<UsageTotal[]> {
    // The grouping column comes from a closed list (UsageGroup), never from the request text.
    const group = q.groupBy ?? "''";
    return this.db.prepare<[Record<string, unknown>], UsageTotal>(`
      SELECT minute - (minute % @width) AS bucket, ${group} AS "group", metric, SUM(n) AS n FROM usage
      WHERE minute >= @from AND minute < @to ${q.key !== undefined ? 'AND key = @key' : ''}
      GROUP BY bucket, "group", metric ORDER BY bucket, "group", metric`).all({ from: q.from, to: q.to, width: INTERVAL_MS[q.interval], key: q.key });
  }
}
