/** Rate limits end to end on one process: per client address, per key, per path; 429 with the IETF headers. */
import request from 'supertest';
import { withSiteAndService } from '../helpers/service.js';

const ADMIN = 'bootstrap-admin-key-for-tests-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('rate limits per client address and path (AUTH=off)', () => {
  // Slow refill (a token every 12 minutes or more) so the counts below do not depend on timing.
  const ctx = withSiteAndService({ RATE_LIMITS: 'ip GET 5/h; ip POST /text_tasks 2/h; ip POST /batches 1/h', TRUST_PROXY: 'loopback' }, (site) => site.serve('/p', '<p>x</p>', 'text/html'));
  const api = () => request(ctx.svc.url);

  it('lets a burst of GETs through with RateLimit headers, then answers 429 with Retry-After', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.1' };
    for (let i = 0; i < 5; i++) {
      const res = await api().get('/text_tasks').set(ip).expect(200);
      expect(res.headers['ratelimit-policy']).toBe('"r1";q=5;w=3600');
      expect(res.headers['ratelimit']).toMatch(new RegExp(`^"r1";r=${4 - i};t=\\d+$`));
    }
    const refused = await api().get('/text_tasks').set(ip).expect(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(720);
    expect(refused.headers['ratelimit']).toMatch(/^"r1";r=0;t=\d+$/);
    expect(refused.body.detail).toContain('rate limit r1');
    // Another client address (through the trusted proxy) has its own bucket; probes are never limited.
    await api().get('/text_tasks').set({ 'x-forwarded-for': '198.51.100.2' }).expect(200);
    await api().get('/health').set(ip).expect(200);
  });

  it('limits POST on a path more tightly than GET, in its own bucket', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.3' };
    for (let i = 0; i < 2; i++) await api().post('/text_tasks').set(ip).send({ url: ctx.site.url('/p') }).expect(202);
    const res = await api().post('/text_tasks').set(ip).send({ url: ctx.site.url('/p') }).expect(429);
    expect(res.headers['ratelimit-policy']).toBe('"r2";q=2;w=3600');
    await api().get('/text_tasks').set(ip).expect(200);
    await api().post('/images_tasks').set(ip).send({ url: ctx.site.url('/p') }).expect(202);
  });

  it('limits POST /batches more tightly than GET /batches', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.4' };
    await api().post('/batches').set(ip).send({ urls: [ctx.site.url('/p')] }).expect(202);
    const res = await api().post('/batches').set(ip).send({ urls: [ctx.site.url('/p')] }).expect(429);
    expect(res.headers['ratelimit-policy']).toBe('"r3";q=1;w=3600');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    await api().get('/batches').set(ip).expect(200);
  });
});

describe('TRUST_PROXY', () => {
  const ctx = withSiteAndService({ RATE_LIMITS: 'ip 2/h', TRUST_PROXY: 'false' });
  it('ignores X-Forwarded-For from an untrusted peer: a client cannot dodge its limit', async () => {
    const api = request(ctx.svc.url);
    await api.get('/text_tasks').set({ 'x-forwarded-for': '198.51.100.7' }).expect(200);
    await api.get('/text_tasks').set({ 'x-forwarded-for': '198.51.100.8' }).expect(200);
    await api.get('/text_tasks').set({ 'x-forwarded-for': '198.51.100.9' }).expect(429);
  });
});

describe('rate limits per API key', () => {
  const ctx = withSiteAndService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, RATE_LIMITS: 'key 3/h' });
  it('gives each key its own bucket, whatever address it calls from', async () => {
    const api = () => request(ctx.svc.url);
    const keys = await Promise.all([1, 2].map(async (n) => (await api().post('/admin/keys').set(bearer(ADMIN)).send({ scopes: ['read'], name: `k${n}` }).expect(201)).body.key as string));
    for (let i = 0; i < 3; i++) await api().get('/text_tasks').set({ ...bearer(keys[0]!), 'x-forwarded-for': `198.51.100.${i}` }).expect(200);
    await api().get('/text_tasks').set(bearer(keys[0]!)).expect(429);
    await api().get('/text_tasks').set(bearer(keys[1]!)).expect(200);
  });
});
