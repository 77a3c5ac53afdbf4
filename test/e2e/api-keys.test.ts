/** AUTH=keys end to end: the bootstrap admin key, key management, 401/403, and tasks owned by their key. */
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/service.js';
import { capturingLogger } from '../fixtures/log.js';
import { tempDir, waitForTask, withSiteAndService } from '../helpers/service.js';

const ADMIN = 'bootstrap-admin-key-for-tests-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys (AUTH=keys)', () => {
  const ctx = withSiteAndService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, KEY_CACHE_MS: '60000' }, (site) => {
    site.serve('/page', '<html><title>t</title><body><p>hello keys</p><img src="/a.png"></body></html>', 'text/html');
    site.serve('/a.png', png(4, 4), 'image/png');
  });
  const api = () => request(ctx.svc.url);

  async function newKey(scopes: unknown, name = 'k'): Promise<{ id: string; key: string }> {
    const res = await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes, name }).expect(201);
    expect(res.headers.location as string).toBe(`/admin/keys/${res.body.id}`);
    expect(res.body.key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    return res.body;
  }

  it('leaves /health, /openapi.json, /dashboard and /metrics open and asks for a key everywhere else', async () => {
    await api().get('/health').expect(200);
    await api().get('/openapi.json').expect(200);
    await api().get('/dashboard').expect(200);
    await api().get('/metrics').expect(200);
    const res = await api().get('/text_tasks').expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body.errors).toEqual([{ field: 'authorization', message: 'is required' }]);
    await api().post('/text_tasks').send({ url: ctx.site.url('/page') }).expect(401);
  });

  it('answers 401 naming the field for a malformed, unknown or non-Bearer key', async () => {
    const malformed = await api().get('/text_tasks').set(bearer('not-a-key')).expect(401);
    expect(malformed.body.errors).toEqual([{ field: 'authorization', message: 'is not a well-formed API key' }]);
    const unknown = await api().get('/text_tasks').set(bearer(`sk_${'A'.repeat(43)}`)).expect(401);
    expect(unknown.body.errors[0].message).toBe('is not a known API key');
    const basic = await api().get('/text_tasks').set({ authorization: 'Basic Zm9vOmJhcg==' }).expect(401);
    expect(basic.body.errors[0].message).toBe('must be "Bearer <key>"');
  });

  it('creates keys with scopes, lists them without secrets, and refuses unknown scopes or fields', async () => {
    const k = await newKey(['read', 'write', 'read'], 'ci');
    const list = await api().get('/admin/keys').set(bearer(ADMIN)).expect(200);
    const listed = list.body.items.find((i: { id: string }) => i.id === k.id);
    expect(listed).toEqual({ id: k.id, name: 'ci', scopes: ['read', 'write'], created_at: expect.any(String), revoked_at: null });
    expect(JSON.stringify(list.body)).not.toContain(k.key);

    const bad = await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes: ['read', 'root'], name: 'x' }).expect(400);
    expect(bad.body.errors).toEqual([{ field: 'scopes.1', message: '"root" is not a scope; scopes are read, write, admin' }]);
    const empty = await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes: [], name: 'x' }).expect(400);
    expect(empty.body.errors[0].field).toBe('scopes');
    const noName = await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes: ['read'] }).expect(400);
    expect(noName.body.errors).toEqual([{ field: 'name', message: 'is required' }]);
  });

  it('answers 403 when the key lacks the scope', async () => {
    const reader = await newKey(['read']);
    await api().get('/text_tasks').set(bearer(reader.key)).expect(200);
    const res = await api().post('/text_tasks').set(bearer(reader.key)).send({ url: ctx.site.url('/page') }).expect(403);
    expect(res.body.detail).toContain('"write" scope');
    await api().get('/admin/keys').set(bearer(reader.key)).expect(403);
  });

  it("answers GET /stats with the key's own usage only; admin sees every key's", async () => {
    const alice = await newKey(['read', 'write'], 'stats-alice');
    const bob = await newKey(['read'], 'stats-bob');
    const task = await api().post('/text_tasks').set(bearer(alice.key)).send({ url: ctx.site.url('/page') }).expect(202);
    await waitFor(task.headers.location as string, alice.key);
    for (let i = 0; i < 3; i++) await api().get('/text_tasks').set(bearer(bob.key)).expect(200);

    const own = (await api().get('/stats').query({ group_by: 'key', interval: 'day' }).set(bearer(bob.key)).expect(200)).body;
    expect(own.key).toBe(bob.id);
    expect(own.buckets.flatMap((b: { groups: Array<{ group: string }> }) => b.groups.map((g) => g.group))).toEqual([bob.id]);
    expect(own.totals).toMatchObject({ requests: 3, pages: 0, tasks: {} }); // this /stats call is counted once answered
    const aliceOwn = (await api().get('/stats').set(bearer(alice.key)).expect(200)).body;
    expect(aliceOwn.totals).toMatchObject({ pages: 1, tasks: { text: { succeeded: 1 } } });
    expect(aliceOwn.totals.requests).toBeGreaterThanOrEqual(2); // the POST and at least one poll

    const all = (await api().get('/stats').query({ group_by: 'key', interval: 'day' }).set(bearer(ADMIN)).expect(200)).body;
    expect(all.key).toBeNull();
    const groups = all.buckets.flatMap((b: { groups: Array<{ group: string }> }) => b.groups.map((g) => g.group));
    expect(groups).toEqual(expect.arrayContaining([alice.id, bob.id]));
    // A key without the read scope may not read its usage either.
    const writer = await newKey(['write'], 'stats-writer');
    await api().get('/stats').set(bearer(writer.key)).expect(403);
  });

  it('gives each key its own tasks; admin sees all', async () => {
    const alice = await newKey(['read', 'write'], 'alice');
    const bob = await newKey(['read', 'write'], 'bob');
    const a = await api().post('/images_tasks').set(bearer(alice.key)).send({ url: ctx.site.url('/page') }).expect(202);
    const b = await api().post('/text_tasks').set(bearer(bob.key)).send({ url: ctx.site.url('/page') }).expect(202);

    const done = await waitFor(a.headers.location as string, alice.key);
    expect(done.status).toBe('succeeded');
    await waitFor(b.headers.location as string, bob.key);
    await api().get(a.headers.location as string).set(bearer(bob.key)).expect(404);
    await api().get(`${a.headers.location as string}/images`).set(bearer(bob.key)).expect(404);
    await api().get(`${b.headers.location as string}/text`).set(bearer(alice.key)).expect(404);
    await api().get(`${b.headers.location as string}/text`).set(bearer(bob.key)).expect(200);

    const aliceList = await api().get('/images_tasks').set(bearer(alice.key)).expect(200);
    expect(aliceList.body.items.map((t: { id: string }) => t.id)).toEqual([a.body.id]);
    expect((await api().get('/images_tasks').set(bearer(bob.key)).expect(200)).body.items).toEqual([]);
    const adminList = await api().get('/text_tasks').set(bearer(ADMIN)).expect(200);
    expect(adminList.body.items.map((t: { id: string }) => t.id)).toContain(b.body.id);
    await api().get(a.headers.location as string).set(bearer(ADMIN)).expect(200);

    // Files are public by default (MEDIA_ACCESS=public): content addresses are unguessable.
    const images = await api().get(`${a.headers.location as string}/images`).set(bearer(alice.key)).expect(200);
    await api().get(images.body.items[0].url).expect(200);
  });

  it('revokes a key at once: 401, and 404 for a key that does not exist', async () => {
    const k = await newKey(['read']);
    await api().get('/text_tasks').set(bearer(k.key)).expect(200);
    await api().delete(`/admin/keys/${k.id}`).set(bearer(ADMIN)).expect(204);
    const res = await api().get('/text_tasks').set(bearer(k.key)).expect(401);
    expect(res.body.errors[0].message).toBe('was revoked');
    const listed = (await api().get('/admin/keys').set(bearer(ADMIN)).expect(200)).body.items.find((i: { id: string }) => i.id === k.id);
    expect(listed.revoked_at).toEqual(expect.any(String));
    await api().delete('/admin/keys/nope').set(bearer(ADMIN)).expect(404);
  });

  it('answers 405 with Allow for other methods on the operator routes', async () => {
    expect((await api().put('/admin/keys').set(bearer(ADMIN)).expect(405)).headers.allow).toBe('GET, HEAD, POST');
    expect((await api().get('/admin/keys/x').set(bearer(ADMIN)).expect(405)).headers.allow).toBe('DELETE');
    expect((await api().post('/stats').set(bearer(ADMIN)).expect(405)).headers.allow).toBe('GET, HEAD');
    expect((await api().delete('/dashboard').expect(405)).headers.allow).toBe('GET, HEAD');
  });

  it('lets an admin key made through the API manage keys', async () => {
    const admin = await newKey(['admin'], 'ops');
    await api().get('/admin/keys').set(bearer(admin.key)).expect(200);
    await api().post('/text_tasks').set(bearer(admin.key)).send({ url: ctx.site.url('/page') }).expect(202);
  });

  async function waitFor(location: string, key: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await api().get(location).set(bearer(key)).expect(200);
      if (res.body.status === 'succeeded' || res.body.status === 'failed') return res.body;
      if (Date.now() > deadline) throw new Error(`${location} not final`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});

describe('AUTH=keys with MEDIA_ACCESS=keys', () => {
  const ctx = withSiteAndService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, MEDIA_ACCESS: 'keys' });
  it('asks for a key for /media/ files too', async () => {
    await request(ctx.svc.url).get('/media/images/00/none.png').expect(401);
    await request(ctx.svc.url).get('/media/images/00/none.png').set(bearer(ADMIN)).expect(404);
  });
});

describe('AUTH=off (the default)', () => {
  const ctx = withSiteAndService({}, (site) => site.serve('/p', '<p>x</p>', 'text/html'));
  it('needs no key, ignores a wrong one, and makes tasks without an owner', async () => {
    await request(ctx.svc.url).get('/text_tasks').expect(200);
    const res = await request(ctx.svc.url).post('/text_tasks').set(bearer('whatever')).send({ url: ctx.site.url('/p') }).expect(202);
    expect((await waitForTask(ctx.svc.url, res.headers.location as string)).status).toBe('succeeded');
    expect((await ctx.svc.store.getTask(res.body.id))?.owner).toBeUndefined();
  });

  it('warns loudly when it listens beyond loopback, and not on loopback', async () => {
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const { log, lines } = capturingLogger();
      const svc = await startService(loadConfig({ DATA_DIR: tempDir(), PORT: '0', HOST: host, PARSE_THREADS: '0' }), log);
      await svc.close();
      const warned = lines.some((l) => l.level === 40 && String(l.msg).includes('AUTH=off on a non-loopback address'));
      expect([host, warned]).toEqual([host, host === '0.0.0.0']);
    }
  });

  it('refuses AUTH=keys without a bootstrap ADMIN_API_KEY', () => {
    expect(() => loadConfig({ AUTH: 'keys' })).toThrow(/AUTH=keys needs ADMIN_API_KEY/);
    expect(() => loadConfig({ AUTH: 'keys', ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY: must be at least 20 characters/);
  });
});
