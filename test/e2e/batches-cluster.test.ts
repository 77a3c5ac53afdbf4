/** Batches, results and exports on the cluster adapters (MongoDB store, RabbitMQ queue), in one process. */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { serveDatasetSite, waitForBatch, type DatasetSite } from '../helpers/batches.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';

describeWithService('MONGO_URL', 'batches on MongoDB', (mongoUrl) => {
  describeWithService('AMQP_URL', 'and RabbitMQ', (amqpUrl) => {
    let site: FixtureSite;
    let svc: TestService;
    let data: DatasetSite;

    beforeAll(async () => {
      site = await startFixtureSite();
      data = serveDatasetSite(site);
      const db = new URL(mongoUrl);
      db.pathname = `/scrapeds_batches_${randomBytes(4).toString('hex')}`;
      svc = await startTestService({ MONGO_URL: db.toString(), AMQP_URL: amqpUrl, QUEUE_NAME: `scrapeds-batches-${randomBytes(4).toString('hex')}`, FETCH_RETRIES: '0' });
    }, 60_000);
    afterAll(async () => {
      await svc?.close();
      await site?.close();
    });

    it('runs a batch through RabbitMQ, streams its results and exports it', async () => {
      const api = request(svc.url);
      const res = await api.post('/batches').set('content-type', 'application/x-ndjson').query({ kinds: 'text,images' })
        .send([...data.pages, site.url('/broken')].map((url) => JSON.stringify({ url })).join('\n')).expect(202);
      const done = await waitForBatch(svc.url, res.body.id, 60_000);
      expect(done).toMatchObject({ status: 'completed', counts: { succeeded: 6, failed: 2 } });

      const results = await api.get(`/batches/${res.body.id}/results`).expect(200);
      const records = (results.text as string).trim().split('\n').map((l) => JSON.parse(l));
      expect(records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(records[0].text).toContain('First page text.');

      const exp = await api.post(`/batches/${res.body.id}/exports`).send({ format: 'webdataset' }).expect(202);
      let listing;
      for (let i = 0; i < 400; i++) {
        listing = (await api.get(`/exports/${exp.body.id}`).expect(200)).body;
        if (listing.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(listing).toMatchObject({ status: 'succeeded', manifest: { records: 7 } });

      await api.delete(`/batches/${res.body.id}`).expect(409);
      const retry = await api.post(`/batches/${res.body.id}/retry`).expect(202);
      expect(retry.body.retried).toBe(2);
      expect((await waitForBatch(svc.url, res.body.id, 60_000)).counts).toMatchObject({ succeeded: 6, failed: 2 });
    }, 120_000);

    it('gives the tasks the batch\'s text format and image filters on MongoDB too', async () => {
      const api = request(svc.url);
      const res = await api.post('/batches').send({ urls: [data.pages[0]], kinds: ['text', 'images'], format: 'main', mime_types: ['image/png'] }).expect(202);
      await waitForBatch(svc.url, res.body.id, 60_000);
      const tasks = (await api.get(`/batches/${res.body.id}/tasks`).expect(200)).body.items as Array<Record<string, unknown>>;
      expect(tasks.find((t) => t.kind === 'text')).toMatchObject({ status: 'succeeded', format: 'main' });
      // /one has a PNG and a JPEG: the JPEG is not an allowed type.
      expect(tasks.find((t) => t.kind === 'images')).toMatchObject({ status: 'succeeded', options: { mime_types: ['image/png'] }, counts: { found: 2, skipped: 1 } });
    }, 90_000);
  });
});
