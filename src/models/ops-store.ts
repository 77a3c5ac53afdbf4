/**
 * The operator's ports beside the TaskStore: API keys and usage counters. Every task store adapter carries
 * both (same file or database), so the choice of SQLite or MongoDB stays one decision.
 */

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt?: string;
}

export interface ApiKeyStore {
  /** `hash` is the sha256 (hex) of the plain key; the plain key is never stored. */
  createKey(input: { name: string; scopes: Scope[]; hash: string }): Promise<ApiKey>;
  /** The key with this hash, revoked ones included (the caller decides); null when none. */
  findKeyByHash(hash: string): Promise<ApiKey | null>;
  /** Oldest first, revoked ones included. */
  listKeys(): Promise<ApiKey[]>;
  /** Marks the key revoked; false when there is no such key. Revoking twice keeps the first time. */
  revokeKey(id: string): Promise<boolean>;
}

/** The dimensions a usage count is kept by; '' when one does not apply (e.g. `host` for an HTTP request). */
export interface UsageDims {
  key: string;
  ip: string;
  path: string;
  host: string;
}

export const USAGE_GROUPS = ['key', 'ip', 'path', 'host'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export const USAGE_INTERVALS = ['minute', 'hour', 'day'] as const;
export type UsageInterval = (typeof USAGE_INTERVALS)[number];
export const INTERVAL_MS: Record<UsageInterval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The start of the bucket holding `ms`. */
export const bucketOf = (ms: number, interval: UsageInterval): number => ms - (ms % INTERVAL_MS[interval]);

/** One counter increment: `n` more of `metric` in the minute starting at `minute` (epoch ms). */
export interface UsageRow extends UsageDims {
  minute: number;
  metric: string;
  n: number;
}

export interface UsageQuery {
  /** Epoch ms, inclusive start and exclusive end. */
  from: number;
  to: number;
  /** Bucket width; buckets are aligned to UTC. */
  interval: UsageInterval;
  groupBy?: UsageGroup;
  /** Only this API key's counts (a non-admin caller's own usage). */
  key?: string;
}

export interface UsageTotal {
  /** Bucket start, epoch ms. */
  bucket: number;
  /** The value of the grouping dimension ('' without group_by). */
  group: string;
  metric: string;
  n: number;
}

export interface UsageStore {
  /**
   * Adds the increments. `source` names the writing process: each process only ever updates its own rows,
   * so concurrent flushes never touch one row (FerretDB v1 applies no update atomically).
   */
  addUsage(source: string, rows: UsageRow[]): Promise<void>;
  /** Sums by bucket, group and metric; ordered by bucket, then group, then metric. */
  queryUsage(query: UsageQuery): Promise<UsageTotal[]>;
}

/**
 * Token-bucket cells shared by API replicas (see src/ops/token-bucket.ts): a cell is one token's time slot,
 * and claiming one is an insert against a unique key, the one write FerretDB v1 makes atomic.
 */
export interface RateCellStore {
  /** True when this call took `cell` of `bucket`; false when someone already had it. */
  claim(bucket: string, cell: number, expiresAt: number): Promise<boolean>;
  /** The highest cell of `bucket` claimed so far that is not below `from`; null when none. */
  highest(bucket: string, from: number): Promise<number | null>;
  /** Drops cells that expired before `now` (called now and then; the cells are small). */
  sweep(now: number): Promise<void>;
}
