/**
 * A client's mistakes get a short 4xx problem+json, never a 500 with a stack in the log: malformed escapes,
 * bad or unsupported body encodings, wrong methods, URLs carrying credentials.
 */
import zlib from 'node:zlib';
import { capturingLogger } from '../fixtures/log.js';
import { send, type Reply } from '../helpers/raw-http.js';
import { startTestService, tempDir, type TestService } from '../helpers/service.js';

describe('hostile requests get a 4xx problem and a short log line', () => {
  let svc: TestService;
  const { log, lines } = capturingLogger();
  beforeAll(async () => {
    svc = await startTestService({}, tempDir(), log);
  });
  afterAll(async () => {
    await svc.close();
  });
  beforeEach(() => {
    lines.length = 0;
  });

  const expectProblem = (r: Reply, statuses: number[]) => {
    expect({ status: r.status, expected: statuses.includes(r.status), body: r.body.toString().slice(0, 200) }).toMatchObject({ expected: true });
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(r.body.toString()) as { status: number; title: string };
    expect(body.status).toBe(r.status);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  };
  /** No error-level line and no stack anywhere: a client's mistake is not the operator's emergency. */
  const expectQuietLog = () => {
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(lines.filter((l) => JSON.stringify(l).includes('"stack"'))).toEqual([]);
  };

  it.each([
    '/text_tasks/%ff',
    '/text_tasks/%',
    '/text_tasks/%zz',
    '/text_tasks/%ff/text',
    '/images_tasks/%E0%A4%A',
    '/images_tasks/abc/images/%',
    '/images_tasks/%c0%af/images',
  ])('GET %s → 400', async (path) => {
    expectProblem(await send(svc.url, path), [400]);
    expectQuietLog();
  });

  const json = Buffer.from(JSON.stringify({ url: 'http://127.0.0.1:9/' }));
  it.each<[string, string, Buffer, number[]]>([
    ['br with a body that is not brotli', 'br', Buffer.from('definitely not brotli'), [400, 415]],
    ['a broken gzip stream', 'gzip', Buffer.concat([zlib.gzipSync(json).subarray(0, 12), Buffer.from('garbage')]), [400]],
    ['gzip that is not gzip', 'gzip', json, [400]],
    ['a broken deflate stream', 'deflate', Buffer.from('xx not deflate'), [400]],
    ['an unknown coding', 'compress', json, [415]],
    ['a chain of codings', 'gzip, br', zlib.gzipSync(json), [400, 415]],
  ])('POST with Content-Encoding %s → 4xx', async (_name, encoding, body, statuses) => {
    const r = await send(svc.url, '/text_tasks', { method: 'POST', body, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
    expectProblem(r, statuses);
    expectQuietLog();
  });

  it('still accepts a correct gzip body', async () => {
    const r = await send(svc.url, '/text_tasks', { method: 'POST', body: zlib.gzipSync(json), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(r.status).toBe(202);
  });

  it('refuses a gzip body that inflates past the limit with 413', async () => {
    const bomb = zlib.gzipSync(Buffer.from(JSON.stringify({ url: 'http://127.0.0.1:9/', pad: 'x'.repeat(5 * 1024 * 1024) })));
    const r = await send(svc.url, '/text_tasks', { method: 'POST', body: bomb, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expectProblem(r, [413]);
    expectQuietLog();
  });

  it.each<[string, string, string]>([
    ['DELETE', '/text_tasks', 'GET, HEAD, POST'],
    ['PUT', '/images_tasks', 'GET, HEAD, POST'],
    ['POST', '/text_tasks/abc', 'GET, HEAD'],
    ['PATCH', '/images_tasks/abc/images', 'GET, HEAD'],
    ['DELETE', '/images_tasks/abc/images/def', 'GET, HEAD'],
    ['POST', '/text_tasks/abc/text', 'GET, HEAD'],
    ['POST', '/health', 'GET, HEAD'],
    ['DELETE', '/openapi.json', 'GET, HEAD'],
    ['POST', '/media/images/ab/x.png', 'GET, HEAD'],
  ])('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const r = await send(svc.url, path, { method, ...(method === 'GET' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } }) });
    expectProblem(r, [405]);
    expect(r.headers.allow).toBe(allow);
  });

  it('still answers 404 for a path no method serves', async () => {
    expectProblem(await send(svc.url, '/nothing/here', { method: 'DELETE' }), [404]);
  });

  it.each(['http://user:secret@127.0.0.1:9/', 'http://user@127.0.0.1:9/', 'https://:pw@example.com/'])('refuses a URL with credentials (%s) and stores nothing', async (url) => {
    for (const kind of ['text', 'images']) {
      const r = await send(svc.url, `/${kind}_tasks`, { method: 'POST', body: JSON.stringify({ url }), headers: { 'content-type': 'application/json' } });
      expectProblem(r, [400]);
      expect(JSON.parse(r.body.toString()).errors).toEqual([{ field: 'url', message: expect.stringMatching(/credentials/) }]);
      const list = await send(svc.url, `/${kind}_tasks?limit=1000`);
      expect(list.body.toString()).not.toContain('secret');
      expect(list.body.toString()).not.toContain('user');
    }
  });

  it('sends nosniff on JSON and text responses too', async () => {
    for (const path of ['/health', '/openapi.json', '/text_tasks', '/images_tasks', '/nothing']) {
      expect({ path, nosniff: (await send(svc.url, path)).headers['x-content-type-options'] }).toEqual({ path, nosniff: 'nosniff' });
    }
  });
});
