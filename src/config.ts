/** Environment → typed, validated configuration. The only reader of process.env. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseRateRules } from './ops/rate-rules.js';
import { DEFAULT_AI_CRAWLER_TOKENS } from './scrape/rights/tokens.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

const schema = z.object({
  ROLE: z.enum(['serve', 'api', 'worker']).default('serve'),
  PORT: int(0, 65535).default(8080),
  // Loopback unless asked: with the default AUTH=off, only this machine can reach `npm start`. The image sets 0.0.0.0.
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  /** Where clients download files; default: this API's own /media/. */
  PUBLIC_MEDIA_URL: z.string().url().optional(),
  /** Absolute base URL of the API for Location headers; default: derived from each request. */
  PUBLIC_API_URL: z.string().url().optional(),
  /** Where files go: `volume` (DATA_DIR/media) or `s3` (S3_BUCKET; credentials from the standard AWS chain). */
  BLOB_STORE: z.enum(['volume', 's3']).default('volume'),
  S3_BUCKET: z.string().min(3).optional(),
  /** Unset: AWS S3. Set for R2, MinIO, Ceph, SeaweedFS, … */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Media links are the API's /media/…, answered with a redirect to a GET presigned for S3_PRESIGN_SECONDS. */
  S3_PRESIGN: bool.default(false),
  S3_PRESIGN_SECONDS: int(1, 7 * 24 * 3600).default(3600),
  MONGO_URL: z.string().optional(),
  AMQP_URL: z.string().optional(),
  /** The RabbitMQ queue (Celery routing key) jobs go through. */
  QUEUE_NAME: z.string().min(1).default('scrapeds'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  WORKER_CONCURRENCY: int(1, 256).default(4),
  IMAGE_CONCURRENCY: int(1, 256).default(8),
  QUEUE_CAPACITY: int(1, 10_000_000).default(100_000),
  /** Worker threads that parse HTML; 0 parses on the main thread (tests run from TypeScript sources do). */
  PARSE_THREADS: int(0, 64).default(Math.max(1, os.availableParallelism() - 1)),
  /** The longest one page may parse, counted from when a parse thread takes it (not while it waits for one). */
  PARSE_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /** Pages that may wait for a parse thread; one more fails with `parser_busy`. */
  PARSE_QUEUE: int(0, 100_000).default(256),
  /** Deepest element nesting parsed; a deeper page fails with `too_large` (parse cost grows with depth). */
  PARSE_MAX_DEPTH: int(16, 1_000_000).default(1024),
  /** A page fetched this recently serves the other tasks of its URL (0 turns reuse off); bounded in bytes. */
  PAGE_REUSE_MS: int(0, 3_600_000).default(60_000),
  PAGE_REUSE_BYTES: int(0, 4_000_000_000).default(64 * 1024 * 1024),
  /** A heap grows this many percent past its live objects before a full collection (src/heap-growth.ts); 0: V8's own choice. */
  HEAP_GROWTH_PERCENT: int(0, 1000).default(50),

  USER_AGENT: z.string().min(1).default('scrapeds/0.1 (+https://github.com/scrapeds; dataset collection)'),
  ALLOW_PRIVATE_NETWORKS: bool.default(false),
  ALLOW_CIDRS: list.default([]),
  CONNECT_TIMEOUT_MS: int(100, 120_000).default(10_000),
  FETCH_TIMEOUT_MS: int(100, 600_000).default(30_000),
  TASK_TIMEOUT_MS: int(1000, 1_500_000).default(600_000),
  MAX_PAGE_BYTES: int(1024, 1_000_000_000).default(10 * 1024 * 1024),
  MAX_IMAGE_BYTES: int(1024, 1_000_000_000).default(20 * 1024 * 1024),
  MAX_IMAGES_PER_PAGE: int(1, 100_000).default(1000),
  MAX_REDIRECTS: int(0, 50).default(5),
  RESPECT_ROBOTS_TXT: bool.default(true),
  /** Requests in flight to one host, across every task of the process. */
  PER_HOST_CONCURRENCY: int(1, 256).default(4),
  /** Least time between two request starts to one host (a robots.txt Crawl-delay can raise it). */
  PER_HOST_DELAY_MS: int(0, 600_000).default(0),
  FETCH_RETRIES: int(0, 10).default(2),
  /** The longest Retry-After (429/503) we wait for; a longer one fails the fetch. */
  RETRY_AFTER_MAX_MS: int(0, 3_600_000).default(60_000),
  /** Comma-separated http:// forward proxies to rotate through; empty: fetch directly. */
  PROXY_URLS: list.pipe(z.array(z.string().regex(/^https?:\/\/\S+$/, 'each proxy must be an http:// or https:// URL'))).default([]),
  /** Rotate to the next proxy after this long even without a ban; 0: only on 403/429 or failure. */
  PROXY_ROTATE_AFTER_MS: int(0, 86_400_000).default(300_000),
  /** respect: keep no content the site reserves against AI training; record: keep it, marked; off: read no signals. */
  RIGHTS_POLICY: z.enum(['respect', 'record', 'off']).default('respect'),
  /** robots.txt groups and scoped directives for these crawlers speak about AI training (and so to us). */
  AI_CRAWLER_TOKENS: list.pipe(z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'each token must be a robots.txt product token'))).default([...DEFAULT_AI_CRAWLER_TOKENS]),
  /** A pending image claim older than this is taken to be abandoned by a dead worker. */
  CLAIM_STALE_MS: int(1000, 86_400_000).default(120_000),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(30_000),
  /** Runs of one task (crashes and lost workers count) before it fails with attempts_exhausted. */
  MAX_ATTEMPTS: int(1, 100).default(5),
  /** The first wait before a crashed job runs again; it doubles per attempt up to RETRY_BACKOFF_MAX_MS. */
  RETRY_BACKOFF_MS: int(0, 600_000).default(1_000),
  RETRY_BACKOFF_MAX_MS: int(0, 3_600_000).default(60_000),
  /** A running task is held this long by its worker, which renews it every third; a dead worker's task is taken over after it. */
  TASK_LEASE_MS: int(1_000, 3_600_000).default(30_000),
  /** RabbitMQ: a task whose dispatch is unconfirmed this long (the API died before publishing) is dispatched by a sweeper. */
  DISPATCH_SWEEP_MS: int(100, 3_600_000).default(30_000),
  // Batches and dataset exports.
  BATCH_MAX_URLS: int(1, 10_000_000).default(1_000_000),
  EXPORT_SHARD_SAMPLES: int(1, 10_000_000).default(10_000),
  EXPORT_SHARD_BYTES: int(1024, 100_000_000_000).default(512 * 1024 * 1024),
  /** A running export whose builder gave no sign of life this long (renewed every quarter of it) is failed as interrupted. */
  EXPORT_STALE_MS: int(100, 86_400_000).default(60_000),
  // Webhooks: first retry after the base delay, each next one 4× later (capped), none after the window.
  WEBHOOK_RETRY_BASE_MS: int(1, 3_600_000).default(5_000),
  WEBHOOK_RETRY_MAX_MS: int(1, 86_400_000).default(10 * 3_600_000),
  WEBHOOK_RETRY_WINDOW_MS: int(1, 7 * 86_400_000).default(24 * 3_600_000),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  WEBHOOK_POLL_MS: int(10, 60_000).default(1_000),
  WEBHOOK_CONCURRENCY: int(1, 256).default(8),

  /** off: no keys (loopback use); keys: every route but /health, /metrics, /dashboard (and public /media) needs a Bearer key. */
  AUTH: z.enum(['off', 'keys']).default('off'),
  /** The bootstrap admin key (AUTH=keys); at least 20 characters. */
  ADMIN_API_KEY: z.string().min(20, 'must be at least 20 characters').optional(),
  /** public: /media/ files need no key (they are content-addressed); keys: they need the read scope. */
  MEDIA_ACCESS: z.enum(['public', 'keys']).default('public'),
  /** A looked-up key is trusted this long before the store is asked again: revocation takes this long on other replicas. */
  KEY_CACHE_MS: int(0, 600_000).default(5_000),
  /** When set, /metrics needs `Authorization: Bearer <this>` (Prometheus: `authorization.credentials`). */
  METRICS_API_KEY: z.string().min(1).optional(),
  /** Worker processes (ROLE=worker) serve /metrics on this port; 0: none. */
  METRICS_PORT: int(0, 65535).default(0),
  /** Express "trust proxy": the hops whose X-Forwarded-For is believed (see README). */
  TRUST_PROXY: z.string().default('loopback, uniquelocal'),
  /** Rate limit rules (README "Rate limits"); RATE_LIMITS_FILE holds the same, one rule a line. */
  RATE_LIMITS: z.string().optional(),
  RATE_LIMITS_FILE: z.string().optional(),
  /** Usage counters are summed in memory and written to the store this often (and at shutdown). */
  STATS_FLUSH_MS: int(100, 3_600_000).default(10_000),
});

export type Config = ReturnType<typeof loadConfig>;

/** TRUST_PROXY as Express takes it: true/false, a hop count, or a list of addresses, subnets and names (loopback, uniquelocal…). */
function trustProxyValue(v: string): boolean | number | string {
  if (v === 'true' || v === 'false') return v === 'true';
  return /^\d+$/.test(v) ? Number(v) : v;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  if (c.ROLE !== 'serve' && !c.AMQP_URL) {
    // Separate api and worker processes only meet through RabbitMQ; the in-process queue cannot join them.
    throw new ConfigError(`invalid configuration:\n  ROLE=${c.ROLE} needs AMQP_URL (or use ROLE=serve)`);
  }
  if (c.BLOB_STORE === 's3' && !c.S3_BUCKET) throw new ConfigError('invalid configuration:\n  BLOB_STORE=s3 needs S3_BUCKET');
  if (c.S3_PRESIGN && c.PUBLIC_MEDIA_URL) {
    throw new ConfigError('invalid configuration:\n  S3_PRESIGN=true and PUBLIC_MEDIA_URL both say where media links point: set one');
  }
  if (c.AUTH === 'keys' && c.ROLE !== 'worker' && !c.ADMIN_API_KEY) {
    // Without a bootstrap key nobody could create the first key.
    throw new ConfigError('invalid configuration:\n  AUTH=keys needs ADMIN_API_KEY (the first admin key)');
  }
  let rateRules;
  try {
    rateRules = parseRateRules(c.RATE_LIMITS_FILE ? fs.readFileSync(c.RATE_LIMITS_FILE, 'utf8') : c.RATE_LIMITS ?? '');
  } catch (err) {
    // A bad rule (RateRuleError) or an unreadable file: either way the variable is what to fix.
    throw new ConfigError(`invalid configuration:\n  ${c.RATE_LIMITS_FILE ? 'RATE_LIMITS_FILE' : 'RATE_LIMITS'}: ${(err as Error).message}`);
  }
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    role: c.ROLE,
    port: c.PORT,
    host: c.HOST,
    dataDir,
    mediaDir: path.join(dataDir, 'media'),
    sqliteFile: path.join(dataDir, 'tasks.sqlite'),
    publicMediaUrl: c.PUBLIC_MEDIA_URL,
    publicApiUrl: c.PUBLIC_API_URL,
    blobStore: c.BLOB_STORE,
    s3:
      c.BLOB_STORE === 's3'
        ? {
            bucket: c.S3_BUCKET as string,
            endpoint: c.S3_ENDPOINT,
            region: c.S3_REGION,
            forcePathStyle: c.S3_FORCE_PATH_STYLE,
            presign: c.S3_PRESIGN,
            presignSeconds: c.S3_PRESIGN_SECONDS,
          }
        : undefined,
    mongoUrl: c.MONGO_URL,
    amqpUrl: c.AMQP_URL,
    queueName: c.QUEUE_NAME,
    logLevel: c.LOG_LEVEL,
    workerConcurrency: c.WORKER_CONCURRENCY,
    imageConcurrency: c.IMAGE_CONCURRENCY,
    queueCapacity: c.QUEUE_CAPACITY,
    parseThreads: c.PARSE_THREADS,
    parseTimeoutMs: c.PARSE_TIMEOUT_MS,
    parseQueue: c.PARSE_QUEUE,
    parseMaxDepth: c.PARSE_MAX_DEPTH,
    pageReuse: { ttlMs: c.PAGE_REUSE_MS, maxBytes: c.PAGE_REUSE_BYTES },
    heapGrowthPercent: c.HEAP_GROWTH_PERCENT,
    claimStaleMs: c.CLAIM_STALE_MS,
    rights: { policy: c.RIGHTS_POLICY, aiCrawlerTokens: c.AI_CRAWLER_TOKENS },
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    retry: {
      maxAttempts: c.MAX_ATTEMPTS,
      backoff: { strategy: 'exponential' as const, minMs: c.RETRY_BACKOFF_MS, maxMs: Math.max(c.RETRY_BACKOFF_MS, c.RETRY_BACKOFF_MAX_MS) },
    },
    taskLeaseMs: c.TASK_LEASE_MS,
    dispatchSweepMs: c.DISPATCH_SWEEP_MS,
    webhooks: {
      schedule: { baseDelayMs: c.WEBHOOK_RETRY_BASE_MS, maxDelayMs: c.WEBHOOK_RETRY_MAX_MS, windowMs: c.WEBHOOK_RETRY_WINDOW_MS },
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      pollMs: c.WEBHOOK_POLL_MS,
      concurrency: c.WEBHOOK_CONCURRENCY,
    },
    datasets: { batchMaxUrls: c.BATCH_MAX_URLS, shardSamples: c.EXPORT_SHARD_SAMPLES, shardBytes: c.EXPORT_SHARD_BYTES, exportStaleMs: c.EXPORT_STALE_MS },
    ops: {
      auth: c.AUTH,
      adminKey: c.ADMIN_API_KEY,
      publicMedia: c.MEDIA_ACCESS === 'public',
      keyCacheMs: c.KEY_CACHE_MS,
      metricsKey: c.METRICS_API_KEY,
      metricsPort: c.METRICS_PORT,
      trustProxy: trustProxyValue(c.TRUST_PROXY),
      rateRules,
      statsFlushMs: c.STATS_FLUSH_MS,
    },
    fetch: {
      userAgent: c.USER_AGENT,
      allowPrivateNetworks: c.ALLOW_PRIVATE_NETWORKS,
      allowCidrs: c.ALLOW_CIDRS,
      connectTimeoutMs: c.CONNECT_TIMEOUT_MS,
      timeoutMs: c.FETCH_TIMEOUT_MS,
      taskTimeoutMs: c.TASK_TIMEOUT_MS,
      maxPageBytes: c.MAX_PAGE_BYTES,
      maxImageBytes: c.MAX_IMAGE_BYTES,
      maxImagesPerPage: c.MAX_IMAGES_PER_PAGE,
      maxRedirects: c.MAX_REDIRECTS,
      respectRobotsTxt: c.RESPECT_ROBOTS_TXT,
      perHostConcurrency: c.PER_HOST_CONCURRENCY,
      perHostDelayMs: c.PER_HOST_DELAY_MS,
      retries: c.FETCH_RETRIES,
      retryAfterMaxMs: c.RETRY_AFTER_MAX_MS,
      proxyUrls: c.PROXY_URLS,
      proxyRotateAfterMs: c.PROXY_ROTATE_AFTER_MS,
    },
  };
}
