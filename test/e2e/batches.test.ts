import { createHash } from 'node:crypto';
import request from 'supertest';
import { ndjson, serveDatasetSite, waitForBatch, type DatasetSite } from '../helpers/batches.js';
import { startTestService, withSiteAndService } from '../helpers/service.js';
import { startFixtureSite } from '../fixtures/site.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
type Parser = (res: request.Response, cb: (err: Error | null, body: unknown) => void) => void;
const collect = (map: (b: Buffer) => unknown): Parser => (res, cb) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, map(Buffer.concat(chunks))));
};
const textParser = collect((b) => b.toString('utf8'));
const binaryParser = collect((b) => b);

describe('batches, end to end on the standalone service', () => {
  let data: DatasetSite;
  const ctx = withSiteAndService({ BATCH_MAX_URLS: '20000', FETCH_RETRIES: '0' }, (site) => {
    data = serveDatasetSite(site);
  });
  const api = () => request(ctx.svc.url);

  it('runs a JSON batch of URLs × kinds to the end, with counts, rates and tasks in order', async () => {
    const res = await api().post('/batches').send({ urls: [...data.pages, ctx.site.url('/broken')], kinds: ['text', 'images'] }).expect(202);
    expect(res.headers.location).toBe(`/batches/${res.body.id}`);
    expect(res.body).toMatchObject({ status: 'running', kinds: ['text', 'images'], url_count: 4, task_count: 8, counts: { queued: 8 } });

    const done = await waitForBatch(ctx.svc.url, res.body.id);
    expect(done).toMatchObject({ status: 'completed', progress: 1, counts: { succeeded: 6, failed: 2, finished: 8, queued: 0, running: 0 } });
    expect(done.started_at).toEqual(expect.any(String));
    expect(done.finished_at).toEqual(expect.any(String));
    expect((done.rates as { eta_seconds: number }).eta_seconds).toBe(0);

    const tasks = await api().get(`/batches/${res.body.id}/tasks`).query({ limit: 3 }).expect(200);
    expect(tasks.body.items.map((t: { url: string; kind: string }) => [t.url, t.kind])).toEqual([
      [data.pages[0], 'text'], [data.pages[0], 'images'], [data.pages[1], 'text'],
    ]);
    expect(tasks.body.items[0]).toMatchObject({ status: 'succeeded', batch_id: res.body.id });
    expect(tasks.headers.link).toContain('rel="next"');
    const failed = await api().get(`/batches/${res.body.id}/tasks`).query({ status: 'failed' }).expect(200);
    expect(failed.body.items.map((t: { url: string; error: { code: string } }) => [t.url, t.error.code])).toEqual([
      [ctx.site.url('/broken'), 'http_error'], [ctx.site.url('/broken'), 'http_error'],
    ]);
    // Reuse across the batch: the image two pages share was fetched once, each page once for both kinds.
    expect(ctx.site.hits('/img/a.png')).toBe(1);
    expect(ctx.site.hits('/one')).toBe(1);

    const list = await api().get('/batches').expect(200);
    expect(list.body.items.map((b: { id: string }) => b.id)).toContain(res.body.id);
  });

  it('streams the results as NDJSON, each record complete, resumable from any record cursor', async () => {
    const { body } = await api().post('/batches').send({ urls: [...data.pages, ctx.site.url('/broken')], kinds: ['text', 'images'] }).expect(202);
    await waitForBatch(ctx.svc.url, body.id);
    const res = await api().get(`/batches/${body.id}/results`).buffer(true).parse(textParser).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const records = (res.body as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [r.seq, r.kind, r.status])).toEqual([
      [0, 'text', 'succeeded'], [1, 'images', 'succeeded'], [2, 'text', 'succeeded'], [3, 'images', 'succeeded'],
      [4, 'text', 'succeeded'], [5, 'images', 'succeeded'], [6, 'text', 'failed'], [7, 'images', 'failed'],
    ]);
    expect(records[0]).toMatchObject({ url: data.pages[0], batch_id: body.id, page: { title: 'One', http_status: 200 }, error: null });
    expect(records[0].text).toContain('First page text.');
    expect(records[2].text).toContain('äöü');
    expect(records[6]).toMatchObject({ text: null, error: { code: 'http_error', http_status: 500 } });
    const five = records[5].images;
    // Stored by this batch or an earlier test's: either way the same file.
    expect(five.map((i: { source_url: string; outcome: string }) => [new URL(i.source_url).pathname, i.outcome === 'failed'])).toEqual([
      ['/img/a.png', false], ['/img/d.png', false], ['/img/missing.png', true],
    ]);
    for (const img of records.flatMap((r) => r.images ?? []).filter((i: { sha256: string | null }) => i.sha256)) {
      const expected = sha256(data.images[new URL(img.source_url).pathname] as Buffer);
      expect(img.sha256).toBe(expected);
      const file = await api().get(img.url).buffer(true).parse(binaryParser).expect(200);
      expect(sha256(file.body as Buffer)).toBe(expected);
    }
    // Resume after the fourth record.
    const rest = await api().get(`/batches/${body.id}/results`).query({ cursor: records[3].cursor }).buffer(true).parse(textParser).expect(200);
    expect((rest.body as string).trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([4, 5, 6, 7]);
    await api().get(`/batches/${body.id}/results`).query({ cursor: 'bad!' }).expect(400);
    await api().get('/batches/nope/results').expect(404);
  });

  it('streams an NDJSON body of thousands of URLs, and cancels what has not started', async () => {
    const urls = Array.from({ length: 10_000 }, (_, i) => ctx.site.url(`/slow/${i}`));
    ctx.site.route('/slow/0', () => new Promise(() => {})); // never answers: holds a worker
    const res = await api().post('/batches?kinds=text').set('content-type', 'application/x-ndjson').send(ndjson(urls)).expect(202);
    expect(res.body).toMatchObject({ url_count: 10_000, task_count: 10_000 });

    const cancel = await api().delete(`/batches/${res.body.id}`).expect(200);
    expect(cancel.body.cancelled).toBeGreaterThan(9_000);
    expect(cancel.body.batch).toMatchObject({ status: 'cancelled', cancelled_at: expect.any(String) });
    const failed = await api().get(`/batches/${res.body.id}/tasks`).query({ status: 'failed', limit: 1000 }).expect(200);
    const codes = failed.body.items.map((t: { error: { code: string } }) => t.error.code);
    expect(codes.filter((c: string) => c === 'cancelled').length).toBeGreaterThan(900);
    // Retry revives the tasks that failed (404s), not the cancelled ones.
    const before = (await api().get(`/batches/${res.body.id}`).expect(200)).body;
    const retry = await api().post(`/batches/${res.body.id}/retry`).expect(202);
    expect(retry.body.retried).toBe(before.counts.failed - cancel.body.cancelled);
    expect(retry.body.batch.counts.failed).toBeGreaterThanOrEqual(cancel.body.cancelled);
  });

  it('retries the failed tasks of a batch, and refuses to cancel a finished one', async () => {
    let fail = true;
    ctx.site.route('/flaky', (_req, res) => {
      if (fail) res.writeHead(503).end('later');
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<title>ok</title><p>now it works</p>');
    });
    const res = await api().post('/batches').send({ urls: [ctx.site.url('/flaky'), data.pages[1]] }).expect(202);
    let done = await waitForBatch(ctx.svc.url, res.body.id);
    expect(done.counts).toMatchObject({ succeeded: 1, failed: 1 });
    const refused = await api().delete(`/batches/${res.body.id}`).expect(409).expect('content-type', /problem\+json/);
    expect(refused.body.errors).toEqual([{ field: 'id', message: 'batch has finished' }]);
    // Refused, not half-done: the batch is not marked cancelled, and so can still be retried.
    expect((await api().get(`/batches/${res.body.id}`).expect(200)).body).toMatchObject({ status: 'completed', cancelled_at: null });

    fail = false;
    const retry = await api().post(`/batches/${res.body.id}/retry`).expect(202);
    expect(retry.body.retried).toBe(1);
    done = await waitForBatch(ctx.svc.url, res.body.id);
    expect(done).toMatchObject({ status: 'completed', counts: { succeeded: 2, failed: 0 } });
  });

  it('gives its tasks the batch\'s task options, from a JSON body and from the NDJSON query, and they act', async () => {
    const options = { min_width: 4, min_height: 1, max_aspect_ratio: 5, mime_types: ['image/png', 'image/jpeg'], resize: { max_side: 64, format: 'png' } };
    const res = await api().post('/batches').send({ urls: data.pages, kinds: ['text', 'images'], format: 'markdown', ...options }).expect(202);
    await waitForBatch(ctx.svc.url, res.body.id);
    const tasks = (await api().get(`/batches/${res.body.id}/tasks`).query({ limit: 100 }).expect(200)).body.items as Array<Record<string, unknown>>;
    expect(tasks).toHaveLength(6);
    for (const t of tasks.filter((x) => x.kind === 'text')) expect(t).toMatchObject({ status: 'succeeded', format: 'markdown' });
    const images = tasks.filter((x) => x.kind === 'images');
    for (const t of images) expect(t.options).toEqual(options);
    // /one: a.png (3 px wide) filtered out, b.jpg stored; /two: the gif is not an allowed type.
    const byUrl = (url: string) => images.find((t) => t.url === url) as { counts: Record<string, number> };
    expect(byUrl(data.pages[0] as string).counts).toMatchObject({ found: 2, skipped: 1 });
    expect(byUrl(data.pages[1] as string).counts).toMatchObject({ found: 1, skipped: 1 });
    // The text tasks' own record says the same as a single task's.
    const one = await api().get(`/text_tasks/${tasks[0]?.id as string}`).expect(200);
    expect(one.body.format).toBe('markdown');

    const query = { kinds: 'text,images', format: 'main', min_width: '4', mime_types: 'image/png', resize_max_side: '32' };
    const nd = await api().post('/batches').query(query).set('content-type', 'application/x-ndjson').send(ndjson(data.pages.slice(0, 1))).expect(202);
    await waitForBatch(ctx.svc.url, nd.body.id);
    const ndTasks = (await api().get(`/batches/${nd.body.id}/tasks`).expect(200)).body.items as Array<Record<string, unknown>>;
    expect(ndTasks.find((t) => t.kind === 'text')).toMatchObject({ format: 'main' });
    expect(ndTasks.find((t) => t.kind === 'images')?.options).toEqual({ min_width: 4, min_height: null, max_aspect_ratio: null, mime_types: ['image/png'], resize: { max_side: 32, format: 'webp' } });
  });

  it('describes the batch and export routes in the OpenAPI document', async () => {
    const doc = await api().get('/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining([
      '/batches', '/batches/{id}', '/batches/{id}/tasks', '/batches/{id}/results', '/batches/{id}/retry', '/batches/{id}/exports', '/exports/{id}',
    ]));
    expect(Object.keys(doc.body.paths['/batches/{id}'])).toEqual(['get', 'delete']);
    expect(doc.body.components.schemas.NewExport.properties.format.enum).toEqual(['webdataset', 'parquet', 'jsonl']);
    // A batch takes the single tasks' options.
    const newBatch = doc.body.components.schemas.NewBatch.properties;
    expect(newBatch.format.enum).toEqual(doc.body.components.schemas.NewTextTask.properties.format.enum);
    expect(newBatch.resize).toEqual(doc.body.components.schemas.NewImagesTask.properties.resize);
    expect(doc.body.paths['/batches'].post.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['format', 'min_width', 'mime_types', 'resize_max_side', 'resize_format']));
  });

  describe('bad input gets a 4xx naming the field or line, and writes nothing', () => {
    const batchCount = async () => (await api().get('/batches').query({ limit: 1000 }).expect(200)).body.items.length as number;

    it.each([
      ['no URLs', { urls: [] }, 'urls'],
      ['no urls field', { kinds: ['text'] }, 'urls'],
      ['a bad URL', { urls: ['https://ok.example/', 'ftp://x/'] }, 'urls.1'],
      ['an unknown kind', { urls: ['https://ok.example/'], kinds: ['video'] }, 'kinds.0'],
      ['an unknown field', { urls: ['https://ok.example/'], color: 'red' }, 'color'],
      ['an unknown text format', { urls: ['https://ok.example/'], format: 'pdf' }, 'format'],
      ['a bad images filter', { urls: ['https://ok.example/'], kinds: ['images'], min_width: 0 }, 'min_width'],
      ['a bad resize', { urls: ['https://ok.example/'], kinds: ['images'], resize: { max_side: 99999 } }, 'resize.max_side'],
      ['an images option without images tasks', { urls: ['https://ok.example/'], kinds: ['text'], mime_types: ['image/png'] }, 'mime_types'],
      ['a text format without text tasks', { urls: ['https://ok.example/'], kinds: ['images'], format: 'markdown' }, 'format'],
    ])('JSON with %s', async (_name, body, field) => {
      const before = await batchCount();
      const res = await api().post('/batches').send(body).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await batchCount()).toBe(before);
    });

    it('NDJSON with a malformed line names the line', async () => {
      const before = await batchCount();
      const body = `${JSON.stringify({ url: data.pages[0] })}\n\n{"url": "https://ok.example/"\n${JSON.stringify({ url: data.pages[1] })}\n`;
      const res = await api().post('/batches').set('content-type', 'application/x-ndjson').send(body).expect(400);
      expect(res.body.errors).toEqual([{ field: 'line 3', message: 'is not valid JSON' }]);
      const bad = await api().post('/batches').set('content-type', 'application/x-ndjson').send(`{"url":"https://a.example/"}\n{"url":"javascript:alert(1)"}\n`).expect(400);
      expect(bad.body.errors[0]).toMatchObject({ field: 'line 2', message: expect.stringContaining('url:') });
      const extra = await api().post('/batches').set('content-type', 'application/x-ndjson').send(`{"url":"https://a.example/","x":1}\n`).expect(400);
      expect(extra.body.errors[0].field).toBe('line 1');
      expect(await batchCount()).toBe(before);
    });

    it('NDJSON with no URLs, too many URLs, or bad options', async () => {
      const before = await batchCount();
      const none = await api().post('/batches').set('content-type', 'application/x-ndjson').send('\n\n').expect(400);
      expect(none.body.errors).toEqual([{ field: 'body', message: 'must hold at least one URL' }]);
      const tooMany = Array.from({ length: 20_001 }, (_, i) => `https://a.example/${i}`);
      const res = await api().post('/batches').set('content-type', 'application/x-ndjson').send(ndjson(tooMany)).expect(413);
      expect(res.body.errors[0]).toEqual({ field: 'line 20001', message: 'more than 20000 URLs' });
      const json = await api().post('/batches').send({ urls: tooMany }).expect(413);
      expect(json.body.errors[0].field).toBe('urls');
      // The streamed body was refused at its 20,001st line: none of the 20,000 before it was kept.
      expect(await batchCount()).toBe(before);
      const kinds = await api().post('/batches?kinds=text,audio').set('content-type', 'application/x-ndjson').send(ndjson(['https://a.example/'])).expect(400);
      expect(kinds.body.errors[0].field).toMatch(/^kinds/);
      for (const [query, field] of [
        ['kinds=images&min_width=wide', 'min_width'], ['kinds=images&mime_types=text/html', 'mime_types.0'], ['kinds=images&resize_format=webp', 'resize_max_side'],
        ['kinds=images&resize_max_side=0', 'resize_max_side'], ['kinds=text&min_height=10', 'min_height'], ['format=pdf', 'format'],
      ]) {
        const bad = await api().post(`/batches?${query}`).set('content-type', 'application/x-ndjson').send(ndjson(['https://a.example/'])).expect(400);
        expect([query, bad.body.errors[0].field]).toEqual([query, field]);
      }
      expect(await batchCount()).toBe(before);
      await api().post('/batches').set('content-type', 'text/plain').send('https://a.example/').expect(415);
    });

    it('unknown batches, bad statuses and cursors', async () => {
      await api().get('/batches/nope').expect(404);
      await api().delete('/batches/nope').expect(404);
      await api().post('/batches/nope/retry').expect(404);
      const { body } = await api().post('/batches').send({ urls: [data.pages[0]] }).expect(202);
      const res = await api().get(`/batches/${body.id}/tasks`).query({ status: 'done' }).expect(400);
      expect(res.body.errors[0].field).toBe('status');
      await api().get(`/batches/${body.id}/tasks`).query({ cursor: 'xyz' }).expect(400);
      await waitForBatch(ctx.svc.url, body.id);
    });
  });
});

describe('a batch larger than the in-process queue', () => {
  it('is taken whole and fed to the queue as room frees, without 503', async () => {
    const site = await startFixtureSite();
    for (let i = 0; i < 12; i++) site.serve(`/q/${i}`, `<title>q${i}</title>`, 'text/html');
    const svc = await startTestService({ QUEUE_CAPACITY: '4', WORKER_CONCURRENCY: '1', RESPECT_ROBOTS_TXT: 'false' });
    try {
      const urls = Array.from({ length: 12 }, (_, i) => site.url(`/q/${i}`));
      const res = await request(svc.url).post('/batches').send({ urls, kinds: ['text', 'images'] }).expect(202);
      expect(res.body.task_count).toBe(24);
      const done = await waitForBatch(svc.url, res.body.id);
      expect(done.counts).toMatchObject({ succeeded: 24, failed: 0 });
      // The half of the queue the feeder leaves free takes a single task meanwhile.
      await request(svc.url).post('/text_tasks').send({ url: site.url('/q/0') }).expect(202);
    } finally {
      await svc.close();
      await site.close();
    }
  });
});

describe('batch tasks go through the SSRF guard', () => {
  it('fails tasks to private addresses when private networks are not allowed', async () => {
    const site = await startFixtureSite();
    site.serve('/', '<title>x</title>', 'text/html');
    const svc = await startTestService({ ALLOW_PRIVATE_NETWORKS: 'false' });
    try {
      const res = await request(svc.url).post('/batches').send({ urls: [site.url('/')], kinds: ['text', 'images'] }).expect(202);
      const done = await waitForBatch(svc.url, res.body.id);
      expect(done.counts).toMatchObject({ failed: 2 });
      const tasks = await request(svc.url).get(`/batches/${res.body.id}/tasks`).expect(200);
      expect(tasks.body.items.map((t: { error: { code: string } }) => t.error.code)).toEqual(['blocked_address', 'blocked_address']);
      expect(site.hits('/')).toBe(0);
    } finally {
      await svc.close();
      await site.close();
    }
  });
});
