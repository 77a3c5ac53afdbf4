/**
 * The short path of a GET of a finished task (its head read, its body from the cache) answers exactly as the
 * full path does, still decides who may see it on every request, and the app's layers moved around it (JSON
 * parsing only where a body is taken, /batches after the task routes) still do what they did.
 */
import request from 'supertest';
import { withSiteAndService } from '../helpers/service.js';

const ADMIN = 'bootstrap-admin-key-for-tests-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** The response headers that must not differ between two answers of the same body (Date does). */
const stable = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'date' && k !== 'keep-alive'));

describe('GET of a task: the cached path', () => {
  const ctx = withSiteAndService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, KEY_CACHE_MS: '60000' }, (site) => {
    site.serve('/page', '<html><title>t</title><body><p>hello read path</p></body></html>', 'text/html');
  });
  const api = () => request(ctx.svc.url);

  async function newKey(scopes: string[]): Promise<string> {
    return (await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes, name: 'k' }).expect(201)).body.key as string;
  }

  /** A succeeded task's id and the first answer that showed it succeeded (read in full, then cached). */
  async function finished(key: string): Promise<{ id: string; first: request.Response }> {
    const created = await api().post('/text_tasks').set(bearer(key)).send({ url: ctx.site.url('/page') }).expect(202);
    for (let i = 0; i < 400; i++) {
      const t = await api().get(`/text_tasks/${created.body.id}`).set(bearer(key)).expect(200);
      if (t.body.status === 'succeeded') return { id: created.body.id as string, first: t };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the task did not succeed');
  }
  const finishedTask = async (key: string) => (await finished(key)).id;

  it('answers a finished task the same, headers and body, whether served from the cache or not', async () => {
    const key = await newKey(['read', 'write']);
    const { id, first } = await finished(key);
    const answers = [first];
    for (let i = 0; i < 3; i++) answers.push(await api().get(`/text_tasks/${id}`).set(bearer(key)).expect(200));
    expect(answers[0]!.body).toMatchObject({ id, status: 'succeeded' });
    expect(answers[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answers[0]!.headers['x-content-type-options']).toBe('nosniff');
    expect(answers[0]!.headers.etag).toMatch(/^W\/"/);
    for (const a of answers.slice(1)) {
      expect(a.text).toBe(answers[0]!.text);
      expect(stable(a.headers)).toEqual(stable(answers[0]!.headers));
    }
    const fresh = await api().get(`/text_tasks/${id}`).set(bearer(key)).set('If-None-Match', answers[0]!.headers.etag as string).expect(304);
    expect(fresh.headers['content-type']).toBeUndefined();
    expect(fresh.headers['content-length']).toBeUndefined();
    expect(fresh.headers.etag).toBe(answers[0]!.headers.etag);
    const head = await api().head(`/text_tasks/${id}`).set(bearer(key)).expect(200);
    expect(head.headers['content-length']).toBe(answers[0]!.headers['content-length']);
  });

  it('still decides on every request who may see it: another key gets 404, a key without read 403, none 401', async () => {
    const owner = await newKey(['read', 'write']);
    const id = await finishedTask(owner);
    await api().get(`/text_tasks/${id}`).set(bearer(owner)).expect(200); // cached now
    const stranger = await api().get(`/text_tasks/${id}`).set(bearer(await newKey(['read']))).expect(404);
    expect(stranger.headers['content-type']).toMatch(/^application\/problem\+json/);
    await api().get(`/text_tasks/${id}`).set(bearer(await newKey(['write']))).expect(403);
    await api().get(`/text_tasks/${id}`).expect(401);
    // Of the other kind: not found either, cached or not.
    await api().get(`/images_tasks/${id}`).set(bearer(owner)).expect(404);
    await api().get(`/text_tasks/${id}`).set(bearer(ADMIN)).expect(200);
  });

  it('still parses JSON where a body is taken, and refuses a malformed one as a problem', async () => {
    const key = await newKey(['read', 'write']);
    const bad = await api().post('/text_tasks').set(bearer(key)).set('content-type', 'application/json').send('{"url": ').expect(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    const plain = await api().post('/text_tasks').set(bearer(key)).set('content-type', 'text/plain').send('x').expect(415);
    expect(plain.headers['content-type']).toMatch(/^application\/problem\+json/);
    // Routes after the task routes take JSON through the app-wide parser.
    await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes: ['read'], name: 'json after the task routes' }).expect(201);
    await api().post('/batches').set(bearer(key)).send({ urls: [ctx.site.url('/page')], kinds: ['text'] }).expect(202);
  });

  it('answers an unknown route, and a wrong method on a task, as problems', async () => {
    const key = await newKey(['read', 'write']);
    const unknown = await api().get('/no_such_route').set(bearer(key)).expect(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.headers['x-content-type-options']).toBe('nosniff');
    const id = await finishedTask(key);
    const wrong = await api().post(`/text_tasks/${id}`).set(bearer(key)).send({}).expect(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    const options = await api().options(`/text_tasks/${id}`).set(bearer(key)).expect(204);
    expect(options.headers.allow).toBe('GET, HEAD');
    // The routes beside a task's own still answer through the task router.
    await api().get(`/text_tasks/${id}/text`).set(bearer(key)).expect(200);
    await api().get('/text_tasks?limit=1').set(bearer(key)).expect(200);
  });
});
