import type dns from 'node:dns';
import type http from 'node:http';
import zlib from 'node:zlib';
import { createFetcher, type Fetcher } from '../../../src/scrape/fetcher.js';
import { closedPort, failure, fakeResolver, limits } from '../../fixtures/fetch.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site.js';

const userAgent = 'scrapeds-test/1.0';

function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

let site: FixtureSite;
beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(() => site.close());
beforeEach(() => site.resetHits());

describe('fetcher with private networks allowed (the fixture site is on loopback)', () => {
  let fetcher: Fetcher;
  beforeAll(() => {
    fetcher = createFetcher({ userAgent, policy: { allowPrivate: true, allowCidrs: [] }, connectTimeoutMs: 2000 });
  });
  afterAll(() => fetcher.close());

  it('fetches a page', async () => {
    let seen: http.IncomingHttpHeaders = {};
    site.route('/page', (req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-multi': ['a', 'b'] }).end('<p>hello</p>');
    });
    const res = await fetcher.fetch(site.url('/page?q=1#frag'), { ...limits, accept: 'text/html' });
    expect(res).toMatchObject({
      requestedUrl: site.url('/page?q=1#frag'),
      finalUrl: site.url('/page?q=1'),
      status: 200,
      contentType: 'text/html; charset=utf-8',
    });
    expect(res.headers['x-multi']).toBe('a, b');
    expect(res.body.toString()).toBe('<p>hello</p>');
    expect(seen['user-agent']).toBe(userAgent);
    expect(seen['accept']).toBe('text/html');
    expect(seen['accept-encoding']).toBe('gzip, deflate, br');
  });

  it('fetches an empty body', async () => {
    site.route('/empty', (_req, res) => void res.writeHead(204).end());
    const res = await fetcher.fetch(site.url('/empty'), limits);
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
  });

  it('reports a 404 as http_error with the status', async () => {
    const err = await failure(fetcher.fetch(site.url('/missing'), limits));
    expect(err.code).toBe('http_error');
    expect(err.details.httpStatus).toBe(404);
  });

  it('follows a redirect chain and records the final URL', async () => {
    site.route('/r1', (_req, res) => void res.writeHead(301, { location: '/r2' }).end('moved'));
    site.route('/r2', (_req, res) => void res.writeHead(302, { location: site.url('/r3') }).end());
    site.route('/r3', (_req, res) => void res.writeHead(307, { location: 'target?x=1' }).end());
    site.serve('/target', 'arrived', 'text/plain');
    const res = await fetcher.fetch(site.url('/r1'), limits);
    expect(res.finalUrl).toBe(site.url('/target?x=1'));
    expect(res.requestedUrl).toBe(site.url('/r1'));
    expect(res.body.toString()).toBe('arrived');
  });

  it('stops a redirect loop with too_many_redirects', async () => {
    site.route('/loop-a', (_req, res) => void res.writeHead(302, { location: '/loop-b' }).end());
    site.route('/loop-b', (_req, res) => void res.writeHead(302, { location: '/loop-a' }).end());
    const err = await failure(fetcher.fetch(site.url('/loop-a'), { ...limits, maxRedirects: 3 }));
    expect(err.code).toBe('too_many_redirects');
    expect(site.hits('/loop-a') + site.hits('/loop-b')).toBe(4);
  });

  it('refuses to follow a redirect to another scheme', async () => {
    site.route('/to-file', (_req, res) => void res.writeHead(302, { location: 'file:///etc/passwd' }).end());
    expect((await failure(fetcher.fetch(site.url('/to-file'), limits))).code).toBe('unsupported_scheme');
  });

  it('rejects bad URLs and schemes before any request', async () => {
    expect((await failure(fetcher.fetch('not a url', limits))).code).toBe('invalid_url');
    expect((await failure(fetcher.fetch('ftp://example.com/x', limits))).code).toBe('unsupported_scheme');
    expect((await failure(fetcher.fetch('javascript:alert(1)', limits))).code).toBe('unsupported_scheme');
  });

  it('cuts off an endless body at the byte limit, quickly', async () => {
    let clientGone = false;
    site.route('/endless', async (_req, res) => {
      res.on('close', () => (clientGone = true));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      while (!clientGone) {
        if (!res.write(chunk)) await drainedOrClosed(res);
      }
    });
    const started = Date.now();
    const err = await failure(fetcher.fetch(site.url('/endless'), { ...limits, maxBytes: 256 * 1024 }));
    expect(err.code).toBe('too_large');
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(clientGone).toBe(true);
  });

  it('fails early when Content-Length announces too much', async () => {
    site.route('/huge', (_req, res) => {
      res.writeHead(200, { 'content-length': String(500 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
      // ...and never sends the rest: only the header can have stopped the fetch.
    });
    const started = Date.now();
    const err = await failure(fetcher.fetch(site.url('/huge'), limits));
    expect(err.code).toBe('too_large');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('decompresses gzip, deflate (wrapped and raw) and brotli', async () => {
    const text = 'compressible text '.repeat(1000);
    const encoders: Record<string, (b: Buffer) => Buffer> = {
      gzip: zlib.gzipSync,
      deflate: zlib.deflateSync,
      'deflate-raw': zlib.deflateRawSync,
      br: zlib.brotliCompressSync,
    };
    for (const [name, encode] of Object.entries(encoders)) {
      site.route(`/enc-${name}`, (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': name.replace('-raw', '') }).end(encode(Buffer.from(text)));
      });
      const res = await fetcher.fetch(site.url(`/enc-${name}`), limits);
      expect(res.body.toString()).toBe(text);
    }
  });

  it('stops a gzip bomb at the byte limit after decompression', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(limits.maxBytes);
    site.route('/bomb', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
    });
    const before = process.memoryUsage().rss;
    const err = await failure(fetcher.fetch(site.url('/bomb'), limits));
    expect(err.code).toBe('too_large');
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });

  it('times out a server that trickles its body', async () => {
    let timer: NodeJS.Timeout | undefined;
    site.route('/trickle', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      timer = setInterval(() => res.write('x'), 200);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const err = await failure(fetcher.fetch(site.url('/trickle'), { ...limits, timeoutMs: 1000 }));
    clearInterval(timer);
    expect(err.code).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('times out a server that never answers', async () => {
    site.route('/silent', () => undefined);
    const err = await failure(fetcher.fetch(site.url('/silent'), { ...limits, timeoutMs: 500 }));
    expect(err.code).toBe('timeout');
  });

  it('stops when the caller aborts', async () => {
    site.route('/silent2', () => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await failure(fetcher.fetch(site.url('/silent2'), { ...limits, signal: controller.signal }));
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/cancelled/);
  });

  it('reports a refused connection as connection_error', async () => {
    const port = await closedPort();
    const err = await failure(fetcher.fetch(`http://127.0.0.1:${port}/`, limits));
    expect(err.code).toBe('connection_error');
  });

  it('reports a connection closed mid-response as connection_error', async () => {
    site.route('/hangup', (req) => void req.socket.destroy());
    expect((await failure(fetcher.fetch(site.url('/hangup'), limits))).code).toBe('connection_error');
  });
});

describe('fetcher with the default policy (no private networks)', () => {
  let fetcher: Fetcher;
  beforeAll(() => {
    fetcher = createFetcher({ userAgent, policy: { allowPrivate: false, allowCidrs: [] }, connectTimeoutMs: 2000 });
  });
  afterAll(() => fetcher.close());

  it('refuses the loopback fixture site without sending a request', async () => {
    site.serve('/secret', 'secret', 'text/plain');
    const err = await failure(fetcher.fetch(site.url('/secret'), limits));
    expect(err.code).toBe('blocked_address');
    expect(err.details.address).toBe('127.0.0.1');
    expect(err.message).toContain('127.0.0.1');
    expect(site.hits('/secret')).toBe(0);
  });

  it('refuses a name that resolves to loopback (checked in the lookup)', async () => {
    site.serve('/secret', 'secret', 'text/plain');
    const err = await failure(fetcher.fetch(`http://localhost:${new URL(site.origin).port}/secret`, limits));
    expect(err.code).toBe('blocked_address');
    expect(err.details.address).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(site.hits('/secret')).toBe(0);
  });

  it('guards the lookup of https connections too', async () => {
    // Were the name resolved without the guard, this would be connection_error: nothing listens there.
    const err = await failure(fetcher.fetch(`https://localhost:${await closedPort()}/`, limits));
    expect(err.code).toBe('blocked_address');
  });

  it.each(['http://2130706433:PORT/', 'http://0x7f.1:PORT/', 'http://0177.0.0.1:PORT/', 'http://[::1]:PORT/', 'http://[::ffff:127.0.0.1]:PORT/'])(
    'refuses the disguised loopback address %s before dialling',
    async (template) => {
      // A port nothing listens on: were it dialled, the error would be connection_error.
      const url = template.replace('PORT', String(await closedPort()));
      const err = await failure(fetcher.fetch(url, limits));
      expect(err.code).toBe('blocked_address');
    },
  );
});

describe('fetcher with an allow list: every redirect hop goes through the guard', () => {
  const port = () => new URL(site.origin).port;
  const names: Record<string, dns.LookupAddress[]> = {
    'fixture.test': [{ address: '127.0.0.1', family: 4 }],
    'internal.test': [{ address: '10.0.0.1', family: 4 }],
  };
  const resolved: string[] = [];
  const resolver = fakeResolver(names, resolved);
  let fetcher: Fetcher;
  beforeAll(() => {
    fetcher = createFetcher({ userAgent, policy: { allowPrivate: false, allowCidrs: ['127.0.0.1/32'] }, connectTimeoutMs: 2000, resolver });
  });
  afterAll(() => fetcher.close());

  it('fetches an allowed address, by IP and by a name resolving to it', async () => {
    site.serve('/ok', 'fine', 'text/plain');
    expect((await fetcher.fetch(site.url('/ok'), limits)).body.toString()).toBe('fine');
    expect((await fetcher.fetch(`http://fixture.test:${port()}/ok`, limits)).body.toString()).toBe('fine');
    expect(resolved).toContain('fixture.test');
  });

  it.each([
    ['http://127.0.0.2:PORT/next', '127.0.0.2'],
    ['http://[::1]:PORT/next', '::1'],
    ['http://internal.test:PORT/next', '10.0.0.1'],
  ])('refuses a redirect to %s', async (target, address) => {
    site.route('/hop', (_req, res) => void res.writeHead(302, { location: target.replace('PORT', port()) }).end());
    site.serve('/next', 'should not be served', 'text/plain');
    const err = await failure(fetcher.fetch(site.url('/hop'), limits));
    expect(err.code).toBe('blocked_address');
    expect(err.details.address).toBe(address);
    expect(site.hits('/hop')).toBe(1);
    expect(site.hits('/next')).toBe(0);
  });

  it('reports a name that does not resolve as dns_error', async () => {
    expect((await failure(fetcher.fetch(`http://nowhere.test:${port()}/`, limits))).code).toBe('dns_error');
  });
});
