/** Environment → typed, validated configuration. The only reader of process.env. */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_AI_CRAWLER_TOKENS } from './scrape/rights/tokens.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

const schema = z.object({
  ROLE: z.enum(['serve', 'api', 'worker']).default('serve'),
  PORT: int(0, 65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  /** Where clients download files; default: this API's own /media/. */
  PUBLIC_MEDIA_URL: z.string().url().optional(),
  /** Absolute base URL of the API for Location headers; default: derived from each request. */
  PUBLIC_API_URL: z.string().url().optional(),
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
  PARSE_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /** A page fetched this recently serves the other tasks of its URL (0 turns reuse off); bounded in bytes. */
  PAGE_REUSE_MS: int(0, 3_600_000).default(60_000),
  PAGE_REUSE_BYTES: int(0, 4_000_000_000).default(64 * 1024 * 1024),

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
});

export type Config = ReturnType<typeof loadConfig>;

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
    mongoUrl: c.MONGO_URL,
    amqpUrl: c.AMQP_URL,
    queueName: c.QUEUE_NAME,
    logLevel: c.LOG_LEVEL,
    workerConcurrency: c.WORKER_CONCURRENCY,
    imageConcurrency: c.IMAGE_CONCURRENCY,
    queueCapacity: c.QUEUE_CAPACITY,
    parseThreads: c.PARSE_THREADS,
    parseTimeoutMs: c.PARSE_TIMEOUT_MS,
    pageReuse: { ttlMs: c.PAGE_REUSE_MS, maxBytes: c.PAGE_REUSE_BYTES },
    claimStaleMs: c.CLAIM_STALE_MS,
    rights: { policy: c.RIGHTS_POLICY, aiCrawlerTokens: c.AI_CRAWLER_TOKENS },
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
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
