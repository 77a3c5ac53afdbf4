/** Helpers for export tests: start an export, wait for it, download its shards; read shards back with the Python readers. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { tempDir } from './temp.js';

const run = promisify(execFile);
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface ApiShard { index: number; name: string; url: string; records: number; bytes: number; sha256: string }
export interface ApiExport {
  id: string;
  status: string;
  format: string;
  options: Record<string, unknown>;
  shards: ApiShard[];
  manifest: Record<string, unknown> & { shards: Array<Record<string, number | string>> };
  error: unknown;
}
/** One sample as a Python reader saw it (test/python/read_shards.py). */
export interface ReadEntry { key: string; ext?: string; sha256?: string; txt?: string; meta: Record<string, unknown>; columns?: Record<string, unknown> }

export async function waitForExport(base: string, id: string, timeoutMs = 20_000): Promise<ApiExport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(base).get(`/exports/${id}`).expect(200);
    if (res.body.status !== 'running') return res.body as ApiExport;
    if (Date.now() > deadline) throw new Error(`export ${id} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const binary = (res: request.Response, cb: (err: Error | null, body: unknown) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

/** Starts an export, waits for it, downloads its shards (checking each sha256) into a fresh directory. */
export async function exportAndDownload(base: string, batchId: string, body: Record<string, unknown>): Promise<{ exp: ApiExport; dir: string; files: string[] }> {
  const res = await request(base).post(`/batches/${batchId}/exports`).send(body).expect(202);
  expect(res.headers.location).toBe(`/exports/${res.body.id}`);
  const exp = await waitForExport(base, res.body.id);
  expect(exp).toMatchObject({ status: 'succeeded', error: null });
  const dir = tempDir();
  const files: string[] = [];
  for (const shard of exp.shards) {
    const file = await request(base).get(shard.url).buffer(true).parse(binary).expect(200);
    const bytes = file.body as Buffer;
    expect(bytes.length).toBe(shard.bytes);
    expect(sha256(bytes)).toBe(shard.sha256);
    const target = path.join(dir, shard.name);
    fs.writeFileSync(target, bytes);
    files.push(target);
  }
  return { exp, dir, files };
}

/** Runs test/python/read_shards.py: {"reader name": [entry, ...]}. */
export async function readBack(python: string, format: string, files: string[]): Promise<Record<string, ReadEntry[]>> {
  const script = path.resolve('test/python/read_shards.py');
  const { stdout } = await run(python, [script, format, ...files], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1' } });
  return JSON.parse(stdout) as Record<string, ReadEntry[]>;
}
