/** What each `scrapeds` command does, against the API; main.ts only parses arguments. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, CliError } from './api-client.js';
import { progressLine, progressView, type BatchSnapshot } from './progress.js';
import { ndjsonBody, openInput } from './url-lines.js';

export interface GlobalOptions {
  api: string;
  apiKey?: string;
  json?: boolean;
}

export interface WaitOptions {
  wait?: boolean;
  /** Seconds; 0 waits for ever. */
  timeout?: number;
  /** Milliseconds between polls. */
  interval?: number;
}

export interface WebhookOptions {
  webhook?: string;
  webhookSecret?: string;
  webhookEvents?: string;
}

/** Exit code of a waited-for batch in which some tasks failed (0: all succeeded). */
export const EXIT_TASKS_FAILED = 3;

export const out = (line: string) => void process.stdout.write(`${line}\n`);
export const client = (g: GlobalOptions) => new ApiClient({ api: g.api, apiKey: g.apiKey });
const unfinished = (b: BatchSnapshot) => b.counts.queued + b.counts.running > 0;

function webhookBody(o: WebhookOptions): Record<string, unknown> | undefined {
  if (!o.webhook) return undefined;
  return {
    url: o.webhook,
    ...(o.webhookSecret ? { secret: o.webhookSecret } : {}),
    ...(o.webhookEvents ? { events: o.webhookEvents.split(',').map((e) => e.trim()) } : {}),
  };
}

/** Polls the batch until nothing is queued or running, showing progress on stderr. */
async function waitForBatch(api: ApiClient, id: string, o: WaitOptions): Promise<BatchSnapshot> {
  const view = progressView();
  const deadline = o.timeout ? Date.now() + o.timeout * 1000 : Infinity;
  try {
    for (;;) {
      const b = await api.json<BatchSnapshot>('GET', `/batches/${id}`);
      view.update(b);
      if (!unfinished(b)) return b;
      if (Date.now() > deadline) throw new CliError(`batch ${id} still running after ${o.timeout} s: ${progressLine(b)}`, 2);
      await sleep(o.interval ?? 500);
    }
  } finally {
    view.stop();
  }
}

/** Prints the batch (and waits for it when asked); the exit code says whether tasks failed. */
async function report(g: GlobalOptions, api: ApiClient, batch: BatchSnapshot & Record<string, unknown>, o: WaitOptions): Promise<number> {
  if (!o.wait) {
    if (g.json) out(JSON.stringify(batch));
    else out(`batch ${batch.id} ${batch.status}: ${batch.task_count} tasks → ${api.base}/batches/${batch.id}`);
    return 0;
  }
  if (!g.json) out(`batch ${batch.id}: ${batch.task_count} tasks → ${api.base}/batches/${batch.id}`);
  const final = await waitForBatch(api, batch.id, o);
  if (g.json) out(JSON.stringify(final));
  else out(progressLine(final));
  return final.counts.failed > 0 ? EXIT_TASKS_FAILED : 0;
}

export async function submit(g: GlobalOptions, file: string, o: WaitOptions & WebhookOptions & { kinds: string; refresh?: boolean }): Promise<number> {
  const api = client(g);
  const query = new URLSearchParams({ kinds: o.kinds, ...(o.refresh ? { refresh: 'true' } : {}) });
  const hook = webhookBody(o);
  if (hook) {
    query.set('webhook_url', hook.url as string);
    if (o.webhookEvents) query.set('webhook_events', o.webhookEvents);
  }
  const headers = o.webhookSecret ? { 'webhook-secret': o.webhookSecret } : undefined;
  const res = await api.request('POST', `/batches?${query}`, { body: Readable.from(ndjsonBody(openInput(file))), contentType: 'application/x-ndjson', headers });
  const batch = (await res.json()) as BatchSnapshot & Record<string, unknown>;
  return report(g, api, batch, o);
}

export interface CrawlOptions extends WaitOptions, WebhookOptions {
  kinds: string;
  maxPages?: number;
  maxDepth?: number;
  include?: string[];
  exclude?: string[];
  sitemaps?: boolean;
  allSites?: boolean;
  stripTracking?: boolean;
}

export async function crawl(g: GlobalOptions, url: string, o: CrawlOptions): Promise<number> {
  const api = client(g);
  const crawlSpec: Record<string, unknown> = { url };
  if (o.maxPages !== undefined) crawlSpec.max_pages = o.maxPages;
  if (o.maxDepth !== undefined) crawlSpec.max_depth = o.maxDepth;
  if (o.include?.length) crawlSpec.include = o.include;
  if (o.exclude?.length) crawlSpec.exclude = o.exclude;
  if (o.sitemaps === false) crawlSpec.sitemaps = false;
  if (o.allSites) crawlSpec.same_site = false;
  if (o.stripTracking) crawlSpec.strip_tracking_params = true;
  const hook = webhookBody(o);
  const body = { crawl: crawlSpec, kinds: o.kinds.split(',').map((k) => k.trim()), ...(hook ? { webhook: hook } : {}) };
  const batch = await api.json<BatchSnapshot & Record<string, unknown>>('POST', '/batches', body);
  return report(g, api, batch, o);
}

export async function status(g: GlobalOptions, id: string, o: WaitOptions): Promise<number> {
  const api = client(g);
  const batch = await api.json<BatchSnapshot & Record<string, unknown>>('GET', `/batches/${encodeURIComponent(id)}`);
  if (o.wait) return report(g, api, batch, o);
  if (g.json) out(JSON.stringify(batch));
  else {
    const c = batch.counts;
    out(progressLine(batch));
    out(`  queued ${c.queued}, running ${c.running}, succeeded ${c.succeeded}, failed ${c.failed}`);
    out(`  results: ${api.base}/batches/${batch.id}/results`);
  }
  return 0;
}

/** Copies the NDJSON stream to stdout as it arrives (flat memory for any size). */
export async function results(g: GlobalOptions, id: string, o: { cursor?: string }): Promise<number> {
  const api = client(g);
  const query = o.cursor ? `?${new URLSearchParams({ cursor: o.cursor })}` : '';
  const res = await api.request('GET', `/batches/${encodeURIComponent(id)}/results${query}`);
  if (!res.body) return 0;
  await pipeline(Readable.fromWeb(res.body as WebStream<Uint8Array>), process.stdout, { end: false });
  return 0;
}

interface ApiShard { name: string; url: string; bytes: number; sha256: string; records: number }
interface ApiExport { id: string; status: string; error: { code: string; message: string } | null; shards: ApiShard[]; manifest: unknown }

/** Downloads one shard next to its final name, checks size and sha256, then renames it into place. */
async function downloadShard(api: ApiClient, shard: ApiShard, dir: string): Promise<void> {
  if (path.basename(shard.name) !== shard.name || shard.name.startsWith('.')) throw new CliError(`refusing shard name ${JSON.stringify(shard.name)}`);
  const target = path.join(dir, shard.name);
  const part = `${target}.part`;
  const res = await api.request('GET', api.resolve(shard.url));
  const hash = createHash('sha256');
  let bytes = 0;
  const body = Readable.fromWeb(res.body as WebStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  await pipeline(body, fs.createWriteStream(part));
  const sha = hash.digest('hex');
  if (bytes !== shard.bytes || sha !== shard.sha256) {
    fs.rmSync(part, { force: true });
    throw new CliError(`shard ${shard.name}: got ${bytes} bytes with sha256 ${sha}, expected ${shard.bytes} bytes with sha256 ${shard.sha256}`);
  }
  fs.renameSync(part, target);
}

export interface ExportCliOptions extends WaitOptions {
  format: string;
  out: string;
  shardSamples?: number;
  includeImages?: boolean;
}

export async function exportBatch(g: GlobalOptions, id: string, o: ExportCliOptions): Promise<number> {
  const api = client(g);
  const body: Record<string, unknown> = { format: o.format };
  if (o.shardSamples !== undefined) body.shard_samples = o.shardSamples;
  if (o.includeImages) body.include_images = true;
  let exp = await api.json<ApiExport>('POST', `/batches/${encodeURIComponent(id)}/exports`, body);
  const deadline = o.timeout ? Date.now() + o.timeout * 1000 : Infinity;
  while (exp.status === 'running') {
    if (Date.now() > deadline) throw new CliError(`export ${exp.id} still running after ${o.timeout} s`, 2);
    await sleep(o.interval ?? 500);
    exp = await api.json<ApiExport>('GET', `/exports/${exp.id}`);
  }
  if (exp.status !== 'succeeded') throw new CliError(`export ${exp.id} failed: ${exp.error?.code}: ${exp.error?.message}`);
  fs.mkdirSync(o.out, { recursive: true });
  for (const shard of exp.shards) {
    await downloadShard(api, shard, o.out);
    if (!g.json) out(`${shard.name}  ${shard.records} records  ${shard.bytes} bytes  sha256 ${shard.sha256} ok`);
  }
  fs.writeFileSync(path.join(o.out, 'manifest.json'), `${JSON.stringify(exp.manifest, null, 2)}\n`);
  if (g.json) out(JSON.stringify({ ...exp, out: path.resolve(o.out) }));
  else out(`export ${exp.id}: ${exp.shards.length} shards verified in ${path.resolve(o.out)}`);
  return 0;
}
