/**
 * AUTH=keys and batches: a batch, its tasks, results, webhook deliveries, retry, cancel and exports belong to
 * the key that made the batch. Another key gets 404 on every one of them (not 403: ids tell nothing);
 * admin sees all. Run on SQLite and on MongoDB, the two stores that keep the owner.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { serveDatasetSite, type DatasetSite } from '../helpers/batches.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';

const ADMIN = 'ownership-admin-key-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function ownershipSuite(name: string, env: () => Record<string, string>): void {
  describe(`batch ownership on ${name}`, () => {
    let site: FixtureSite;
    let svc: TestService;
    let data: DatasetSite;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let alice: string;
    let bob: string;

    beforeAll(async () => {
      site = await startFixtureSite();
      data = serveDatasetSite(site);
      // A page that answers only when the test lets it: its batch stays unfinished until then.
      site.route('/held', async (_req, res) => {
        await held;
        res.writeHead(200, { 'content-type': 'text/html' }).end('<p>held</p>');
      });
      svc = await startTestService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, FETCH_RETRIES: '0', ...env() });
      const key = async (n: string) => (await request(svc.url).post('/admin/keys').set(bearer(ADMIN)).send({ scopes: ['read', 'write'], name: n }).expect(201)).body.key as string;
      alice = await key('alice');
      bob = await key('bob');
    }, 60_000);
    afterAll(async () => {
      release();
      await svc?.close();
      await site?.close();
    });

    const api = () => request(svc.url);
    async function finished(id: string, key: string) {
      for (let i = 0; i < 600; i++) {
        const b = (await api().get(`/batches/${id}`).set(bearer(key)).expect(200)).body;
        if (b.counts.queued + b.counts.running === 0) return b;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`batch ${id} did not finish`);
    }

    it('shows a batch and everything under it to its key and admin only, 404 to another key', async () => {
      const made = await api().post('/batches').set(bearer(alice))
        .send({ urls: [...data.pages, site.url('/broken')], kinds: ['text'] }).expect(202);
      const id = made.body.id as string;
      await finished(id, alice);
      const other = await api().post('/batches').set(bearer(bob)).send({ urls: [data.pages[0]], kinds: ['text'] }).expect(202);
      await finished(other.body.id, bob);

      // Reads: the batch, its tasks, its results, its webhook deliveries.
      for (const path of [`/batches/${id}`, `/batches/${id}/tasks`, `/batches/${id}/results`, `/batches/${id}/webhooks`]) {
        await api().get(path).set(bearer(alice)).expect(200);
        await api().get(path).set(bearer(ADMIN)).expect(200);
        const res = await api().get(path).set(bearer(bob)).expect(404);
        expect([path, res.headers['content-type']]).toEqual([path, expect.stringMatching(/^application\/problem\+json/)]);
        expect(res.body.detail).toBe(`no batch with id ${id}`);
      }
      // An unknown id reads the same as another key's.
      expect((await api().get('/batches/nosuchbatch').set(bearer(bob)).expect(404)).body.title)
        .toBe((await api().get(`/batches/${id}`).set(bearer(bob)).expect(404)).body.title);

      // Lists: each key its own; admin all.
      const list = async (key: string) => (await api().get('/batches').set(bearer(key)).expect(200)).body.items.map((b: { id: string }) => b.id);
      expect(await list(alice)).toEqual([id]);
      expect(await list(bob)).toEqual([other.body.id]);
      expect(await list(ADMIN)).toEqual([other.body.id, id]);

      // The batch's tasks are the key's tasks.
      const tasks = (await api().get(`/batches/${id}/tasks`).set(bearer(alice)).expect(200)).body.items as Array<{ id: string }>;
      expect(tasks).toHaveLength(4);
      await api().get(`/text_tasks/${tasks[0]?.id}`).set(bearer(alice)).expect(200);
      await api().get(`/text_tasks/${tasks[0]?.id}/text`).set(bearer(bob)).expect(404);
      const aliceTasks = (await api().get('/text_tasks').set(bearer(alice)).expect(200)).body.items.map((t: { id: string }) => t.id);
      expect(aliceTasks.sort()).toEqual(tasks.map((t) => t.id).sort());

      // Writes: retry and cancel are 404 for another key, and change nothing.
      await api().post(`/batches/${id}/retry`).set(bearer(bob)).expect(404);
      expect((await api().get(`/batches/${id}`).set(bearer(alice)).expect(200)).body.counts.failed).toBe(1);
      await api().delete(`/batches/${id}`).set(bearer(bob)).expect(404);
      await api().delete(`/batches/${id}`).set(bearer(alice)).expect(409); // seen, but finished
      const retried = await api().post(`/batches/${id}/retry`).set(bearer(alice)).expect(202);
      expect(retried.body.retried).toBe(1);
      await finished(id, alice);

      // Exports: made on a visible batch only; an export belongs to its batch's owner.
      await api().post(`/batches/${id}/exports`).set(bearer(bob)).send({ format: 'jsonl' }).expect(404);
      const exp = await api().post(`/batches/${id}/exports`).set(bearer(alice)).send({ format: 'jsonl' }).expect(202);
      let shown;
      for (let i = 0; i < 400; i++) {
        shown = (await api().get(`/exports/${exp.body.id}`).set(bearer(alice)).expect(200)).body;
        if (shown.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(shown).toMatchObject({ status: 'succeeded', manifest: { records: 3 } });
      expect(shown.shards).toHaveLength(1);
      const hidden = await api().get(`/exports/${exp.body.id}`).set(bearer(bob)).expect(404);
      expect(hidden.body.detail).toBe(`no export with id ${exp.body.id}`);
      await api().get(`/exports/${exp.body.id}`).set(bearer(ADMIN)).expect(200);
      // Admin may export a key's batch; the export is the batch owner's too.
      const byAdmin = await api().post(`/batches/${id}/exports`).set(bearer(ADMIN)).send({ format: 'jsonl' }).expect(202);
      await api().get(`/exports/${byAdmin.body.id}`).set(bearer(alice)).expect(200);
      await api().get(`/exports/${byAdmin.body.id}`).set(bearer(bob)).expect(404);
    }, 90_000);

    it('lets only the owner (or admin) cancel an unfinished batch', async () => {
      const made = await api().post('/batches').set(bearer(alice)).send({ urls: [site.url('/held'), data.pages[1]], kinds: ['text'] }).expect(202);
      const id = made.body.id as string;
      await api().delete(`/batches/${id}`).set(bearer(bob)).expect(404);
      const cancelled = await api().delete(`/batches/${id}`).set(bearer(alice)).expect(200);
      expect(cancelled.body.batch.cancelled_at).toEqual(expect.any(String));
      release();
      await finished(id, alice);
    }, 60_000);
  });
}

ownershipSuite('SQLite', () => ({}));

describeWithService('MONGO_URL', 'batch ownership (MongoDB)', (mongoUrl) => {
  ownershipSuite('MongoDB', () => {
    const db = new URL(mongoUrl);
    db.pathname = `/scrapeds_owners_${randomBytes(4).toString('hex')}`;
    return { MONGO_URL: db.toString() };
  });
});
