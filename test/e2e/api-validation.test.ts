import request from 'supertest';
import { startTestService, type TestService } from '../helpers/service.js';

describe('bad API input gets a 4xx problem+json naming the field, and nothing is stored', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => {
    await svc.close();
  });

  const expectProblem = (res: request.Response, status: number, field?: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'about:blank', status, title: expect.any(String) });
    if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  };

  const cases: Array<[string, string | object, number, string]> = [
    ['no url', {}, 400, 'url'],
    ['empty url', { url: '' }, 400, 'url'],
    ['url not a string', { url: 42 }, 400, 'url'],
    ['relative url', { url: '/just/a/path' }, 400, 'url'],
    ['ftp scheme', { url: 'ftp://example.com/file' }, 400, 'url'],
    ['javascript scheme', { url: 'javascript:alert(1)' }, 400, 'url'],
    ['file scheme', { url: 'file:///etc/passwd' }, 400, 'url'],
    ['data scheme', { url: 'data:text/html,hi' }, 400, 'url'],
    ['overlong url', { url: `http://example.com/${'a'.repeat(3000)}` }, 400, 'url'],
    ['refresh not boolean', { url: 'http://example.com/', refresh: 'yes' }, 400, 'refresh'],
    ['unknown field', { url: 'http://example.com/', colour: 'red' }, 400, 'colour'],
    ['array body', [1, 2], 400, 'body'],
    ['invalid JSON', '{"url": "http://example.com/"', 400, 'body'],
  ];

  for (const kind of ['text', 'images'] as const) {
    it.each(cases)(`POST /${kind}_tasks with %s → %i`, async (_name, body, status, field) => {
      const req = request(svc.url).post(`/${kind}_tasks`).set('content-type', 'application/json');
      const res = await req.send(typeof body === 'string' ? body : JSON.stringify(body));
      expectProblem(res, status, field);
    });
  }

  it.each([
    [{ url: 'http://example.com/', format: 'html' }],
    [{ url: 'http://example.com/', format: 42 }],
    [{ url: 'http://example.com/', format: null }],
  ])('POST /text_tasks with an unknown format %j → 400 naming format', async (body) => {
    const res = await request(svc.url).post('/text_tasks').set('content-type', 'application/json').send(JSON.stringify(body));
    expectProblem(res, 400, 'format');
    expect(res.body.errors[0].message).toMatch(/text, main, markdown/);
  });

  it('refuses a format on an images task (not one of its fields)', async () => {
    const res = await request(svc.url).post('/images_tasks').set('content-type', 'application/json').send({ url: 'http://example.com/', format: 'main' });
    expectProblem(res, 400, 'format');
  });

  it.each([
    [{ min_width: -1 }, 'min_width'],
    [{ min_height: 2.5 }, 'min_height'],
    [{ min_width: '100' }, 'min_width'],
    [{ max_aspect_ratio: 0.5 }, 'max_aspect_ratio'],
    [{ mime_types: [] }, 'mime_types'],
    [{ mime_types: ['text/html'] }, 'mime_types.0'],
    [{ mime_types: 'image/png' }, 'mime_types'],
    [{ resize: { max_side: 0, format: 'webp' } }, 'resize.max_side'],
    [{ resize: { max_side: -5 } }, 'resize.max_side'],
    [{ resize: { format: 'png' } }, 'resize.max_side'],
    [{ resize: { max_side: 512, format: 'gif' } }, 'resize.format'],
    [{ resize: { max_side: 512, quality: 9 } }, 'resize.quality'],
    [{ resize: 512 }, 'resize'],
  ])('POST /images_tasks with %o → 400 naming %s', async (options, field) => {
    const res = await request(svc.url).post('/images_tasks').send({ url: 'http://example.com/', ...options });
    expectProblem(res, 400, field);
  });

  it('takes no image options on a text task', async () => {
    expectProblem(await request(svc.url).post('/text_tasks').send({ url: 'http://example.com/', min_width: 10 }), 400, 'min_width');
  });

  it('refuses a 10 MB body with 413', async () => {
    const res = await request(svc.url)
      .post('/text_tasks')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ url: 'http://example.com/', pad: 'x'.repeat(10 * 1024 * 1024) }));
    expectProblem(res, 413, 'body');
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await request(svc.url).post('/text_tasks').set('content-type', 'text/plain').send('url=http://example.com/');
    expectProblem(res, 415, 'body');
  });

  it.each([
    ['/text_tasks/does-not-exist'],
    ['/images_tasks/does-not-exist'],
    ['/text_tasks/does-not-exist/text'],
    ['/images_tasks/does-not-exist/images'],
    ['/images_tasks/does-not-exist/images/x'],
    ['/text_tasks/..%2F..%2Fetc'],
    ['/no/such/route'],
  ])('GET %s → 404 problem', async (path) => {
    expectProblem(await request(svc.url).get(path), 404);
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ status: 'done' }, 'status'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ page: '2' }, 'page'],
  ])('GET /text_tasks?%o → 400 naming %s', async (query, field) => {
    expectProblem(await request(svc.url).get('/text_tasks').query(query), 400, field);
  });

  it('stored nothing for any of the refused requests', async () => {
    for (const kind of ['text', 'images']) {
      const res = await request(svc.url).get(`/${kind}_tasks`).expect(200);
      expect(res.body).toEqual({ items: [], next_cursor: null });
    }
  });

  it('a task of one kind is not found under the other kind', async () => {
    const created = await request(svc.url).post('/text_tasks').send({ url: 'http://127.0.0.1:9/' }).expect(202);
    await request(svc.url).get(`/images_tasks/${created.body.id}`).expect(404);
    await request(svc.url).get(`/text_tasks/${created.body.id}`).expect(200);
  });

  it('serves health and the OpenAPI document', async () => {
    await request(svc.url).get('/health').expect(200, { status: 'ok' });
    const doc = await request(svc.url).get('/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/text_tasks', '/text_tasks/{id}', '/text_tasks/{id}/text', '/images_tasks', '/images_tasks/{id}', '/images_tasks/{id}/images', '/images_tasks/{id}/images/{imageId}']),
    );
  });

  it('does not serve dotfiles or escape the media directory', async () => {
    await request(svc.url).get('/media/../tasks.sqlite').expect(404);
    await request(svc.url).get('/media/%2e%2e/tasks.sqlite').expect(404);
  });
});
