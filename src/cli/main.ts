#!/usr/bin/env node
/**
 * The `scrapeds` command: submit URL lists as batches, follow them, stream their results, export them as
 * dataset shards and download those (checking each sha256). Talks to a running service (--api).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from './api-client.js';
import { ProgressReporter, progressLine, type BatchView } from './progress.js';

const USAGE = `usage: scrapeds [--api URL] [--json] COMMAND ...
  submit FILE|-   [--kinds text,images] [--refresh] [--wait]   URLs one per line, or NDJSON {"url": …} lines
  status ID                                                    a batch's counts, progress, rate and ETA
  results ID      [--cursor C]                                 NDJSON, one record per finished task
  export ID       --format webdataset|parquet|jsonl --out DIR [--shard-samples N] [--include-images]
                                                               builds shards, downloads them, checks their sha256
The API defaults to $SCRAPEDS_API or http://localhost:8080.`;

interface ExportView {
  id: string;
  status: string;
  error: { message: string } | null;
  shards: Array<{ name: string; url: string; bytes: number; sha256: string; records: number }>;
  manifest: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lines of a file (or stdin) as NDJSON: a bare URL becomes {"url": …}, a JSON line passes as is. */
async function* ndjsonLines(input: Readable): AsyncGenerator<string> {
  for await (const raw of readline.createInterface({ input, crlfDelay: Infinity })) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    yield `${line.startsWith('{') ? line : JSON.stringify({ url: line })}\n`;
  }
}

async function waitForBatch(api: ApiClient, id: string, json: boolean): Promise<BatchView> {
  const progress = new ProgressReporter(process.stderr);
  for (;;) {
    const b = await api.json<BatchView>('GET', `/batches/${id}`);
    if (b.counts.queued + b.counts.running === 0) {
      if (!json) progress.done(b);
      return b;
    }
    if (!json) progress.update(b);
    await sleep(500);
  }
}

async function submit(api: ApiClient, file: string | undefined, opts: { kinds: string; refresh: boolean; wait: boolean; json: boolean }): Promise<number> {
  if (!file) throw new UsageError('submit needs a FILE (or - for stdin)');
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  const query = new URLSearchParams({ kinds: opts.kinds, ...(opts.refresh ? { refresh: 'true' } : {}) });
  const batch = await api.json<BatchView>('POST', `/batches?${query}`, { body: Readable.from(ndjsonLines(input)), contentType: 'application/x-ndjson' });
  if (!opts.wait) {
    process.stdout.write(opts.json ? `${JSON.stringify(batch)}\n` : `batch ${batch.id}: ${batch.task_count} tasks queued\n`);
    return 0;
  }
  if (!opts.json) process.stderr.write(`batch ${batch.id}: ${batch.task_count} tasks queued\n`);
  const done = await waitForBatch(api, batch.id, opts.json);
  process.stdout.write(opts.json ? `${JSON.stringify(done)}\n` : `batch ${done.id}: ${progressLine(done)}\n`);
  return 0;
}

async function status(api: ApiClient, id: string | undefined, json: boolean): Promise<number> {
  if (!id) throw new UsageError('status needs a batch ID');
  const b = await api.json<BatchView>('GET', `/batches/${encodeURIComponent(id)}`);
  process.stdout.write(json ? `${JSON.stringify(b)}\n` : `batch ${b.id}: ${progressLine(b)}\n`);
  return 0;
}

async function results(api: ApiClient, id: string | undefined, cursor: string | undefined): Promise<number> {
  if (!id) throw new UsageError('results needs a batch ID');
  const res = await api.request('GET', `/batches/${encodeURIComponent(id)}/results${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
  if (!res.body) return 0;
  await pipeline(Readable.fromWeb(res.body as never), process.stdout);
  return 0;
}

async function download(api: ApiClient, shard: ExportView['shards'][number], dir: string): Promise<void> {
  const res = await api.request('GET', shard.url);
  const target = path.join(dir, shard.name);
  const tmp = `${target}.part`;
  const hash = createHash('sha256');
  const body = Readable.fromWeb(res.body as never);
  body.on('data', (c: Buffer) => hash.update(c));
  await pipeline(body, fs.createWriteStream(tmp));
  const got = hash.digest('hex');
  if (got !== shard.sha256) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${shard.name}: sha256 ${got} does not match the listed ${shard.sha256}`);
  }
  fs.renameSync(tmp, target);
}

async function exportBatch(api: ApiClient, id: string | undefined, opts: { format?: string; out?: string; shardSamples?: string; includeImages: boolean; json: boolean }): Promise<number> {
  if (!id) throw new UsageError('export needs a batch ID');
  if (!opts.format) throw new UsageError('export needs --format webdataset|parquet|jsonl');
  if (!opts.out) throw new UsageError('export needs --out DIR');
  const body: Record<string, unknown> = { format: opts.format, include_images: opts.includeImages };
  if (opts.shardSamples) body.shard_samples = Number(opts.shardSamples);
  let exp = await api.json<ExportView>('POST', `/batches/${encodeURIComponent(id)}/exports`, { json: body });
  while (exp.status === 'running') {
    await sleep(300);
    exp = await api.json<ExportView>('GET', `/exports/${exp.id}`);
  }
  if (exp.status !== 'succeeded') throw new Error(`export ${exp.id} failed: ${exp.error?.message ?? exp.status}`);
  fs.mkdirSync(opts.out, { recursive: true });
  for (const [i, shard] of exp.shards.entries()) {
    await download(api, shard, opts.out);
    if (!opts.json) process.stderr.write(`[${i + 1}/${exp.shards.length}] ${shard.name} ${shard.records} samples, ${shard.bytes} bytes, sha256 ok\n`);
  }
  fs.writeFileSync(path.join(opts.out, 'manifest.json'), `${JSON.stringify(exp.manifest, null, 2)}\n`);
  process.stdout.write(opts.json ? `${JSON.stringify(exp)}\n` : `export ${exp.id}: ${exp.shards.length} shards in ${opts.out}\n`);
  return 0;
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
      kinds: { type: 'string', default: 'text' }, refresh: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false },
      cursor: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, 'shard-samples': { type: 'string' },
      'include-images': { type: 'boolean', default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const api = new ApiClient(values.api ?? process.env.SCRAPEDS_API ?? 'http://localhost:8080');
  switch (command) {
    case 'submit': return submit(api, arg, { kinds: values.kinds, refresh: values.refresh, wait: values.wait, json: values.json });
    case 'status': return status(api, arg, values.json);
    case 'results': return results(api, arg, values.cursor);
    case 'export': return exportBatch(api, arg, { format: values.format, out: values.out, shardSamples: values['shard-samples'], includeImages: values['include-images'], json: values.json });
    default: throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`scrapeds: ${err.message}\n${USAGE}\n`);
    else process.stderr.write(`scrapeds: ${err instanceof ApiError || err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
