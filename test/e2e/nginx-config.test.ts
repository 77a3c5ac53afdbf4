/**
 * The cluster's nginx config (nginx/nginx.conf.template, the same file docker compose renders), run natively
 * in front of two fake API replicas: round robin, failover for idempotent requests only, the body limit, and
 * /media/ served from the volume without leaking anything else.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describeWithNginx, NGINX_TEMPLATE, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { send, type Reply } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp.js';
import { INLINE_IMAGE_TYPES, STORED_FILE_CSP } from '../../src/api/security-headers.js';

interface FakeApi {
  name: string;
  address: string;
  /** Requests received, as "METHOD /path". */
  seen: string[];
  close(): Promise<void>;
}

/** A stand-in API replica: answers with its own name and what it was sent; /drop kills the connection unanswered. */
async function fakeApi(name: string): Promise<FakeApi> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/drop') return void req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bodyBytes: Buffer.concat(chunks).length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const json = (r: Reply) => JSON.parse(r.body.toString()) as { name: string; method: string; url: string; headers: Record<string, string>; bodyBytes: number };

describeWithNginx('nginx config (nginx/nginx.conf.template)', () => {
  let dataDir: string;
  let mediaRoot: string;
  let a: FakeApi;
  let b: FakeApi;
  let nginx: RunningNginx;

  beforeAll(async () => {
    dataDir = path.join(tempDir(), 'data');
    mediaRoot = path.join(dataDir, 'media');
    fs.mkdirSync(path.join(mediaRoot, 'images', 'ab'), { recursive: true });
    a = await fakeApi('api-a');
    b = await fakeApi('api-b');
    nginx = await startNginx({ mediaRoot, upstreams: [a.address, b.address] });
  });

  afterAll(async () => {
    await nginx?.close();
    await a?.close();
    await b?.close();
    if (dataDir) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('balances API requests round robin over the replicas, with the forwarding headers', async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await send(nginx.url, `/text_tasks?i=${i}`);
      expect(r.status).toBe(200);
      names.push(json(r).name);
    }
    for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
    expect(names.filter((n) => n === 'api-a')).toHaveLength(3);

    const echoed = json(await send(nginx.url, '/health'));
    expect(echoed.url).toBe('/health');
    expect(echoed.headers.host).toBe('127.0.0.1');
    expect(echoed.headers['x-forwarded-host']).toBe(`127.0.0.1:${nginx.port}`);
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echoed.headers['x-forwarded-proto']).toBe('http');
    expect(echoed.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);

    // A client cannot pass itself off as another address: nginx replaces what it sent (rate limits per IP rely on it).
    const spoofed = json(await send(nginx.url, '/health', { headers: { 'x-forwarded-for': '203.0.113.9' } }));
    expect(spoofed.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(spoofed.headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('passes POST bodies up to 1m and refuses larger ones with 413 before any replica sees them', async () => {
    const ok = await send(nginx.url, '/text_tasks', { method: 'POST', body: Buffer.alloc(1024 * 1024, 'x') });
    expect(ok.status).toBe(200);
    expect(json(ok)).toMatchObject({ method: 'POST', bodyBytes: 1024 * 1024 });

    const before = a.seen.length + b.seen.length;
    const big = await send(nginx.url, '/text_tasks', { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1, 'x') });
    expect(big.status).toBe(413);
    expect(a.seen.length + b.seen.length).toBe(before);
  });

  it('serves a media file byte for byte, typed and cached for good', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('not really a png, but nginx goes by the name')]);
    const sha = createHash('sha256').update(png).digest('hex');
    fs.writeFileSync(path.join(mediaRoot, 'images', 'ab', `${sha}.png`), png);
    const before = a.seen.length + b.seen.length;

    const r = await send(nginx.url, `/media/images/ab/${sha}.png`);
    expect(r.status).toBe(200);
    expect(r.body.equals(png)).toBe(true);
    expect(r.headers['content-type']).toBe('image/png');
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toContain('sandbox');
    expect(r.headers.server).toBe('nginx'); // server_tokens off: no version

    const head = await send(nginx.url, `/media/images/ab/${sha}.png`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(png.length));

    const post = await send(nginx.url, `/media/images/ab/${sha}.png`, { method: 'POST', body: Buffer.from('{}') });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await send(nginx.url, `/media/images/ab/${sha}.png`, { method: 'DELETE' })).status).toBe(405);

    const webp = path.join(mediaRoot, 'images', 'ab', `${'0'.repeat(64)}.webp`);
    fs.writeFileSync(webp, 'RIFF....WEBP');
    expect((await send(nginx.url, `/media/images/ab/${path.basename(webp)}`)).headers['content-type']).toBe('image/webp');

    const missing = await send(nginx.url, `/media/images/ab/${'f'.repeat(64)}.png`);
    expect(missing.status).toBe(404);
    expect(missing.headers['cache-control']).toBeUndefined();
    // /media/ never reaches the API, found or not.
    expect(a.seen.length + b.seen.length).toBe(before);
  });

  it('serves an SVG (or anything not a passive raster image) as a sandboxed attachment', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>';
    const sha = createHash('sha256').update(svg).digest('hex');
    fs.writeFileSync(path.join(mediaRoot, 'images', 'ab', `${sha}.svg`), svg);
    fs.writeFileSync(path.join(mediaRoot, 'images', 'ab', `${sha}.html`), svg);
    for (const ext of ['svg', 'html']) {
      const r = await send(nginx.url, `/media/images/ab/${sha}.${ext}`);
      expect({ ext, status: r.status, disposition: r.headers['content-disposition'] }).toEqual({ ext, status: 200, disposition: 'attachment' });
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['content-security-policy']).toBe(STORED_FILE_CSP);
    }
    const png = path.join(mediaRoot, 'images', 'ab', `${'1'.repeat(64)}.png`);
    fs.writeFileSync(png, Buffer.from('89504e470d0a1a0a', 'hex'));
    const inline = await send(nginx.url, `/media/images/ab/${path.basename(png)}`);
    expect(inline.status).toBe(200);
    expect(inline.headers['content-disposition']).toBeUndefined();
    expect(inline.headers['content-security-policy']).toBe(STORED_FILE_CSP);
  });

  it('lists no directory', async () => {
    for (const p of ['/media/', '/media/images/', '/media/images/ab/', '/media/images', '/media/images/ab']) {
      const r = await send(nginx.url, p);
      expect({ p, status: r.status }).toEqual({ p, status: 404 });
      expect(r.body.toString()).not.toContain('Index of');
    }
  });

  it('leaks no file outside media/ and no dotfile inside it', async () => {
    const secret = 'SECRET-' + Math.random().toString(36).slice(2);
    fs.writeFileSync(path.join(dataDir, 'secret.txt'), secret); // beside media/, inside nginx's root
    fs.writeFileSync(path.join(path.dirname(dataDir), 'secret.txt'), secret); // outside the data dir
    fs.writeFileSync(path.join(mediaRoot, 'images', '.tmp-x'), secret); // a blob being written
    fs.writeFileSync(path.join(mediaRoot, '.hidden'), secret);

    const probes = [
      '/media/../secret.txt',
      '/media/%2e%2e/secret.txt',
      '/media/%2E%2E/secret.txt',
      '/media/..%2fsecret.txt',
      '/media/images/../../secret.txt',
      '/media/../../secret.txt',
      '/media//../secret.txt',
      '/media/images/.tmp-x',
      '/media/images/%2etmp-x',
      '/media/.hidden',
      '/media/images/ab/../.tmp-x',
      '/secret.txt',
    ];
    for (const p of probes) {
      const r = await send(nginx.url, p);
      expect({ p, leaked: r.body.toString().includes(secret) }).toEqual({ p, leaked: false });
      expect(r.status === 404 || r.status === 400 || (r.status === 200 && typeof json(r).name === 'string')).toBe(true);
    }
  });

  it('writes the access log as JSON lines', async () => {
    await send(nginx.url, '/openapi.json?from=log-test');
    const lines = nginx.accessLog().trim().split('\n');
    const entry = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ method: 'GET', uri: '/openapi.json?from=log-test', status: 200 });
    expect(entry.upstream_addr).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('sends GETs to the other replica when one is down', async () => {
    await b.close();
    for (let i = 0; i < 4; i++) {
      const r = await send(nginx.url, `/text_tasks?down=${i}`);
      expect(r.status).toBe(200);
      expect(json(r).name).toBe('api-a');
    }
  });
});

describeWithNginx('nginx config: retries', () => {
  let dataDir: string;
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(() => {
    dataDir = tempDir();
    fs.mkdirSync(path.join(dataDir, 'media'));
  });
  afterAll(async () => {
    for (const x of opened.reverse()) await x.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  // Two replicas that both drop /drop after reading the request: a fresh nginx per case, as each
  // failure takes a replica out of rotation for fail_timeout.
  async function dropping(): Promise<{ nginx: RunningNginx; hits: () => number }> {
    const x = await fakeApi('x');
    const y = await fakeApi('y');
    const nginx = await startNginx({ mediaRoot: path.join(dataDir, 'media'), upstreams: [x.address, y.address] });
    opened.push(x, y, nginx);
    return { nginx, hits: () => x.seen.length + y.seen.length };
  }

  it('retries an idempotent request on the next replica when the first fails mid-request', async () => {
    const { nginx, hits } = await dropping();
    expect((await send(nginx.url, '/drop')).status).toBe(502);
    expect(hits()).toBe(2);
  });

  it('never resends a POST that reached a replica (no duplicate tasks)', async () => {
    const { nginx, hits } = await dropping();
    expect((await send(nginx.url, '/drop', { method: 'POST', body: Buffer.from('{"url":"http://x/"}') })).status).toBe(502);
    expect(hits()).toBe(1);
  });
});

describe('nginx and the API agree on how stored files are served', () => {
  const template = fs.readFileSync(NGINX_TEMPLATE, 'utf8');

  it('shows inline exactly the types the API shows inline', () => {
    const list = /map \$uri \$media_disposition \{[^}]*\\\.\(([a-z0-9|]+)\)\$ "";/.exec(template)?.[1];
    expect(list?.split('|').sort()).toEqual(Object.keys(INLINE_IMAGE_TYPES).sort());
  });

  it('sends the same CSP', () => {
    expect(template).toContain(`add_header Content-Security-Policy "${STORED_FILE_CSP}" always;`);
  });
});
