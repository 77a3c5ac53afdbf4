/** SQLite schema, versioned through PRAGMA user_version. Each step runs once, in order. */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE IF NOT EXISTS tasks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'images')),
    url         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    refresh     INTEGER NOT NULL CHECK (refresh IN (0, 1)),
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    error       TEXT,
    page        TEXT
  );
  CREATE INDEX IF NOT EXISTS tasks_kind_created ON tasks (kind, created_at DESC, id DESC);
  CREATE INDEX IF NOT EXISTS tasks_kind_status_created ON tasks (kind, status, created_at DESC, id DESC);
  CREATE INDEX IF NOT EXISTS tasks_status_created ON tasks (status, created_at, id);

  CREATE TABLE IF NOT EXISTS task_texts (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    text    TEXT NOT NULL
  );

  CREATE TABLE IF NOT EXISTS images (
    id            TEXT PRIMARY KEY,
    source_url    TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'stored', 'failed')),
    owner_task_id TEXT,
    claimed_at    TEXT,
    updated_at    TEXT NOT NULL,
    file          TEXT,
    error         TEXT
  );

  CREATE TABLE IF NOT EXISTS task_images (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    source_url TEXT NOT NULL,
    image_id   TEXT NOT NULL REFERENCES images (id),
    outcome    TEXT NOT NULL CHECK (outcome IN ('stored', 'reused', 'failed')),
    error      TEXT,
    PRIMARY KEY (task_id, position)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS task_images_outcome ON task_images (task_id, outcome);
  CREATE INDEX IF NOT EXISTS task_images_image ON task_images (task_id, image_id, position);
  `,
  // 2: images task options; task images may be skipped, and carry their text, rights and resized copy
  `
  ALTER TABLE tasks ADD COLUMN options TEXT;
  CREATE TABLE task_images_v2 (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    source_url TEXT NOT NULL,
    image_id   TEXT NOT NULL REFERENCES images (id),
    outcome    TEXT NOT NULL CHECK (outcome IN ('stored', 'reused', 'failed', 'skipped')),
    error      TEXT,
    details    TEXT,
    PRIMARY KEY (task_id, position)
  ) WITHOUT ROWID;
  INSERT INTO task_images_v2 (task_id, position, source_url, image_id, outcome, error)
    SELECT task_id, position, source_url, image_id, outcome, error FROM task_images;
  DROP TABLE task_images;
  ALTER TABLE task_images_v2 RENAME TO task_images;
  CREATE INDEX IF NOT EXISTS task_images_outcome ON task_images (task_id, outcome);
  CREATE INDEX IF NOT EXISTS task_images_image ON task_images (task_id, image_id, position);
  `,
  // 3: task owners (API keys), the keys themselves, usage counters
  `
  ALTER TABLE tasks ADD COLUMN owner TEXT;
  CREATE INDEX IF NOT EXISTS tasks_owner_kind_created ON tasks (owner, kind, created_at DESC, id DESC);

  CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );

  CREATE TABLE IF NOT EXISTS usage (
    source TEXT NOT NULL,
    minute INTEGER NOT NULL,
    metric TEXT NOT NULL,
    key    TEXT NOT NULL,
    ip     TEXT NOT NULL,
    path   TEXT NOT NULL,
    host   TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (minute, metric, key, ip, path, host, source)
  ) WITHOUT ROWID;
  `,
  // 4: batches (tasks keep their batch and position in it) and dataset exports
  `
  CREATE TABLE IF NOT EXISTS batches (
    id           TEXT PRIMARY KEY,
    kinds        TEXT NOT NULL,
    refresh      INTEGER NOT NULL CHECK (refresh IN (0, 1)),
    url_count    INTEGER NOT NULL,
    task_count   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    cancelled_at TEXT
  );
  CREATE INDEX IF NOT EXISTS batches_created ON batches (created_at DESC, id DESC);
  ALTER TABLE tasks ADD COLUMN batch_id TEXT REFERENCES batches (id);
  ALTER TABLE tasks ADD COLUMN batch_seq INTEGER;
  CREATE INDEX IF NOT EXISTS tasks_batch_seq ON tasks (batch_id, batch_seq) WHERE batch_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS tasks_batch_status ON tasks (batch_id, status, batch_seq) WHERE batch_id IS NOT NULL;

  CREATE TABLE IF NOT EXISTS exports (
    id          TEXT PRIMARY KEY,
    batch_id    TEXT NOT NULL REFERENCES batches (id),
    options     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    created_at  TEXT NOT NULL,
    finished_at TEXT,
    shards      TEXT NOT NULL,
    error       TEXT
  );
  `,
  // 5: webhook endpoints (one per batch or task) and their deliveries, retried until delivered or expired
  `
  CREATE TABLE IF NOT EXISTS webhook_endpoints (
    owner_id TEXT PRIMARY KEY,
    doc      TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    doc             TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
  CREATE INDEX IF NOT EXISTS webhook_deliveries_owner ON webhook_deliveries (owner_id, created_at, id);
  `,
  // 6: task leases (a running task's worker and until when) and unconfirmed dispatches, for the sweeper
  `
  ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
  ALTER TABLE tasks ADD COLUMN lease_until TEXT;
  ALTER TABLE tasks ADD COLUMN dispatch_pending_since TEXT;
  CREATE INDEX IF NOT EXISTS tasks_dispatch_pending ON tasks (dispatch_pending_since) WHERE dispatch_pending_since IS NOT NULL;
  `,
  // 7: the format of a text task's stored text (NULL: the whole page's text)
  `ALTER TABLE tasks ADD COLUMN format TEXT CHECK (format IN ('text', 'main', 'markdown'));`,
  // 8: batch owners (API keys); a batch's tasks and exports belong to its owner
  `
  ALTER TABLE batches ADD COLUMN owner TEXT;
  CREATE INDEX IF NOT EXISTS batches_owner_created ON batches (owner, created_at DESC, id DESC);
  `,
  // 9: what an export dropped (near-duplicates) or replaced (resized copies), as JSON
  'ALTER TABLE exports ADD COLUMN stats TEXT;',
  // 10: crawls: a batch's crawl spec, and its frontier (one row per URL found; page = admission order, NULL
  // when found after max_pages were admitted); the unique page index makes a page position taken once
  `
  ALTER TABLE batches ADD COLUMN crawl TEXT;
  CREATE TABLE IF NOT EXISTS crawl_frontier (
    batch_id TEXT NOT NULL REFERENCES batches (id),
    url      TEXT NOT NULL,
    depth    INTEGER NOT NULL CHECK (depth >= 0),
    page     INTEGER CHECK (page >= 0),
    PRIMARY KEY (batch_id, url)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX IF NOT EXISTS crawl_frontier_page ON crawl_frontier (batch_id, page) WHERE page IS NOT NULL;
  `,
  // 11: Task.hasWebhook (1 or 0; NULL on tasks made before it was kept), so a task's events look up no endpoint it has not got
  'ALTER TABLE tasks ADD COLUMN webhook INTEGER;',
  // 12: the owner index holds owned tasks only (lists by owner are its one use): a task without an API key, every
  // task of the embedded default, costs its insert one index page less
  `
  DROP INDEX IF EXISTS tasks_owner_kind_created;
  CREATE INDEX tasks_owner_kind_created ON tasks (owner, kind, created_at DESC, id DESC) WHERE owner IS NOT NULL;
  `,
  // 13: a running export's heartbeat (its builder's last sign of life), so an export whose process died is failed
  'ALTER TABLE exports ADD COLUMN heartbeat_at TEXT;',
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the file up to SCHEMA_VERSION; safe when several processes open the same file at once. */
export function migrate(db: Database.Database): void {
  const step = db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is newer than this code (${SCHEMA_VERSION})`);
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v] ?? '');
    }
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  step.immediate();
}
