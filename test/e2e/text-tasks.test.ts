import request from 'supertest';
import { png } from '../fixtures/images.js';
import { submit, waitForTask, withSiteAndService } from '../helpers/service.js';

const ARTICLE = `<!doctype html>
<html><head><title>Owls &amp; Larks</title>
<style>body { color: red }</style>
<script>var secret = "SCRIPT-CONTENT"; document.write('<p>nope</p>');</script>
</head>
<body>
  <!-- a comment that must vanish -->
  <h1>Owls   &amp;  Larks</h1>
  <p>Night birds <b>and <i>day</i> birds</b> &mdash; compared.</p>
  <noscript>Enable JS</noscript>
  <ul><li>one</li><li>two&nbsp;items</li></ul>
  <script type="application/ld+json">{"x":"JSON-LD-CONTENT"}</script>
  <template><p>TEMPLATE-CONTENT</p></template>
  <svg><text>SVG-CONTENT</text></svg>
</body></html>`;

describe('text tasks, end to end on the standalone service', () => {
  const ctx = withSiteAndService();

  it('fetches a page and stores its text without scripts, styles, comments or tags', async () => {
    ctx.site.serve('/article', ARTICLE, 'text/html; charset=utf-8');
    const location = await submit(ctx.svc.url, 'text', ctx.site.url('/article'));
    const task = await waitForTask(ctx.svc.url, location);
    expect(task).toMatchObject({
      status: 'succeeded',
      kind: 'text',
      error: null,
      attempts: 1,
      page: { final_url: ctx.site.url('/article'), http_status: 200, title: 'Owls & Larks', bytes: Buffer.byteLength(ARTICLE) },
    });
    const text = await request(ctx.svc.url).get(`${location}/text`).expect(200).expect('content-type', 'text/plain; charset=utf-8');
    // The title leads; blocks stand apart by a blank line, list items by a line break.
    expect(text.text).toBe('Owls & Larks\n\nOwls & Larks\n\nNight birds and day birds — compared.\n\none\ntwo items');
    for (const hidden of ['SCRIPT', 'JSON-LD', 'TEMPLATE', 'SVG', 'color: red', 'comment', 'Enable JS']) expect(text.text).not.toContain(hidden);
    expect((task.page as { text_length: number }).text_length).toBe(text.text.length);
  });

  it('decodes a windows-1251 page whose charset is only in <meta>', async () => {
    const cyrillic = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x2c, 0x20, 0xec, 0xe8, 0xf0]); // "Привет, мир"
    const body = Buffer.concat([Buffer.from('<html><head><meta charset="windows-1251"></head><body><p>'), cyrillic, Buffer.from('</p></body></html>')]);
    ctx.site.serve('/cp1251', body, 'text/html');
    const location = await submit(ctx.svc.url, 'text', ctx.site.url('/cp1251'));
    expect((await waitForTask(ctx.svc.url, location)).status).toBe('succeeded');
    expect((await request(ctx.svc.url).get(`${location}/text`)).text).toBe('Привет, мир');
  });

  it('follows redirects and records the final URL', async () => {
    ctx.site.route('/old', (_req, res) => void res.writeHead(301, { location: '/new' }).end());
    ctx.site.serve('/new', '<p>moved here</p>', 'text/html');
    const task = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/old')));
    expect(task).toMatchObject({ status: 'succeeded', page: { final_url: ctx.site.url('/new'), http_status: 200 } });
  });

  it('fails a task with a typed error naming the HTTP status', async () => {
    const task = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/missing')));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'http_error', http_status: 404 } });
    await request(ctx.svc.url).get(`/text_tasks/${task.id as string}/text`).expect(409).expect('content-type', /application\/problem\+json/);
  });

  it('refuses a page that is not HTML or text', async () => {
    ctx.site.serve('/blob.bin', Buffer.alloc(100), 'application/octet-stream');
    const task = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/blob.bin')));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'not_html' } });
  });

  it('answers 409 for the text of a task that has not finished', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    ctx.site.route('/slow', async (_req, res) => {
      await gate;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>late</p>');
    });
    const location = await submit(ctx.svc.url, 'text', ctx.site.url('/slow'));
    const early = await request(ctx.svc.url).get(`${location}/text`).expect(409);
    expect(early.body).toMatchObject({ status: 409, title: 'Text Not Available' });
    release();
    await waitForTask(ctx.svc.url, location);
    expect((await request(ctx.svc.url).get(`${location}/text`).expect(200)).text).toBe('late');
  });

  it('fetches a page once for a text task and an images task of the same URL, and again on refresh', async () => {
    ctx.site.serve('/both', '<p>both kinds</p><img src="/both.png">', 'text/html');
    ctx.site.serve('/both.png', png(2, 2, 11), 'image/png');
    const [text, images] = await Promise.all([submit(ctx.svc.url, 'text', ctx.site.url('/both')), submit(ctx.svc.url, 'images', ctx.site.url('/both'))]);
    expect((await waitForTask(ctx.svc.url, text)).status).toBe('succeeded');
    expect(await waitForTask(ctx.svc.url, images)).toMatchObject({ status: 'succeeded', counts: { stored: 1 } });
    expect(ctx.site.hits('/both')).toBe(1);
    expect((await request(ctx.svc.url).get(`${text}/text`)).text).toBe('both kinds');
    await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'text', ctx.site.url('/both'), { refresh: true }));
    expect(ctx.site.hits('/both')).toBe(2);
  });

  it('lists tasks newest first with status filter and cursor pagination', async () => {
    const ids: string[] = [];
    ctx.site.serve('/p', '<p>x</p>', 'text/html');
    for (let i = 0; i < 5; i++) ids.push((await request(ctx.svc.url).post('/text_tasks').send({ url: ctx.site.url(`/p?i=${i}`) }).expect(202)).body.id);
    for (const id of ids) await waitForTask(ctx.svc.url, `/text_tasks/${id}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(ctx.svc.url)
        .get('/text_tasks')
        .query({ status: 'succeeded', limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      for (const t of res.body.items) expect(t.status).toBe('succeeded');
      seen.push(...res.body.items.map((t: { id: string }) => t.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    const mine = seen.filter((id) => ids.includes(id));
    expect(mine).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });
});
