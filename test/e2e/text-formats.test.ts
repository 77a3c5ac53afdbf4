import request from 'supertest';
import { ARTICLE_BODY_PARAGRAPHS, ARTICLE_FURNITURE, ARTICLE_PAGE } from '../fixtures/article-page.js';
import { submit, waitForTask, withSiteAndService } from '../helpers/service.js';

describe('text tasks in each format, with page metadata', () => {
  const ctx = withSiteAndService({}, (site) => {
    site.serve('/news/harbour', ARTICLE_PAGE, 'text/html; charset=utf-8');
    site.serve('/news/harbour-again', ARTICLE_PAGE, 'text/html; charset=utf-8');
  });

  const run = async (format?: string) => {
    const location = await submit(ctx.svc.url, 'text', ctx.site.url('/news/harbour'), format ? { format } : {});
    const task = await waitForTask(ctx.svc.url, location);
    expect(task.status).toBe('succeeded');
    return { task, res: await request(ctx.svc.url).get(`${location}/text`).expect(200) };
  };

  it('defaults to the whole page text, furniture included', async () => {
    const { task, res } = await run();
    expect(task.format).toBe('text');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toContain('Subscribe to our newsletter');
    expect(res.text).toContain(ARTICLE_BODY_PARAGRAPHS[0]);
  });

  it('"main" keeps the article body and its headings, and none of the furniture', async () => {
    const { task, res } = await run('main');
    expect(task.format).toBe('main');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    for (const p of ARTICLE_BODY_PARAGRAPHS) expect(res.text).toContain(p);
    expect(res.text).toContain('A long debate');
    for (const junk of ARTICLE_FURNITURE) expect(res.text).not.toContain(junk);
    expect((task.page as { text_length: number }).text_length).toBe(res.text.length);
  });

  it('"markdown" is served as text/markdown with headings, lists, links, emphasis, a table, code and images', async () => {
    const { task, res } = await run('markdown');
    expect(task.format).toBe('markdown');
    expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
    const md = res.text;
    expect(md.startsWith('# Harbour warehouses to become a library\n')).toBe(true);
    expect(md).toContain('## A long debate');
    expect(md).toContain('- Council vote: 31 to 18');
    expect(md).toContain(`[council minutes](${ctx.site.url('/docs/minutes.pdf')})`);
    expect(md).toContain('_every_');
    expect(md).toMatch(/\| Year \| Event \|\n\| -+ \| -+ \|\n\| 2013 \| First proposal \|/);
    expect(md).toContain('```\nopening = spring + 18 months\n```');
    expect(md).toContain(`![The warehouses](${ctx.site.url('/img/harbour.jpg')})`);
    for (const junk of ARTICLE_FURNITURE) expect(md).not.toContain(junk);
  });

  it('shows the page metadata on the task', async () => {
    const { task } = await run('main');
    expect((task.page as { metadata: unknown }).metadata).toEqual({
      title: 'Harbour warehouses to become a library',
      description: 'The council votes to convert the old warehouses.',
      author: 'Jane Reporter',
      published: '2024-03-05T08:30:00.000Z',
      canonical_url: ctx.site.url('/news/harbour-library'),
      site_name: 'The Daily Example',
      license: 'https://creativecommons.org/licenses/by-sa/4.0/',
      language: 'en',
      word_count: expect.any(Number),
    });
    const words = (task.page as { metadata: { word_count: number } }).metadata.word_count;
    expect(words).toBeGreaterThan(120);
    expect(words).toBeLessThan(200);
  });

  it('serves every format of one URL from a single fetch of the page', async () => {
    const before = ctx.site.hits('/news/harbour');
    const formats = ['text', 'main', 'markdown'];
    const locations = await Promise.all(formats.map((format) => submit(ctx.svc.url, 'text', ctx.site.url('/news/harbour'), { format, refresh: false })));
    const tasks = await Promise.all(locations.map((l) => waitForTask(ctx.svc.url, l)));
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(ctx.site.hits('/news/harbour') - before).toBeLessThanOrEqual(1);
  });

  it('makes the Markdown of a page an images task fetched (and parsed without it) moments before, without fetching it again', async () => {
    const url = ctx.site.url('/news/harbour-again');
    const images = await waitForTask(ctx.svc.url, await submit(ctx.svc.url, 'images', url));
    expect(images.status).toBe('succeeded');
    const location = await submit(ctx.svc.url, 'text', url, { format: 'markdown' });
    const task = await waitForTask(ctx.svc.url, location);
    expect(task.status).toBe('succeeded');
    const md = (await request(ctx.svc.url).get(`${location}/text`).expect(200)).text;
    expect(md.startsWith('# Harbour warehouses to become a library\n')).toBe(true);
    expect(md).toContain(`![The warehouses](${url.replace('/news/harbour-again', '/img/harbour.jpg')})`);
    expect((task.page as { metadata: { word_count: number; language: string } }).metadata).toMatchObject({ word_count: expect.any(Number), language: 'en' });
    expect(ctx.site.hits('/news/harbour-again')).toBe(1);
  });
});
