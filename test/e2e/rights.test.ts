/**
 * Rights records end to end: one fixture site per origin-level scenario (robots.txt, tdmrep.json, ai.txt
 * are read per origin), pages carrying each header and meta signal, under RIGHTS_POLICY=respect and record.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { png } from '../fixtures/images.js';
import { startTestService, submit, waitForTask, type TestService } from '../helpers/service.js';

interface Signal {
  signal: string;
  where: string;
  value: string;
  effect: string;
  note?: string;
}
interface Rights {
  verdict: string;
  signals: Signal[];
}

const html = (body: string, head = '') => `<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`;

function page(site: FixtureSite, p: string, body: string, headers: Record<string, string | string[]> = {}): void {
  site.route(p, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(body);
  });
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

const sites: Record<string, FixtureSite> = {};
let respect: TestService;
let record: TestService;

beforeAll(async () => {
  for (const name of ['plain', 'tdmfile', 'robots', 'signal', 'aitxt', 'broken', 'down', 'cdn']) sites[name] = await startFixtureSite();
  const { plain, tdmfile, robots, signal, aitxt, broken, down, cdn } = sites as Record<string, FixtureSite>;

  page(plain!, '/none', html('<p>Nothing said.</p>'));
  page(plain!, '/noai-header', html('<p>Header says no.</p>'), { 'x-robots-tag': 'noai' });
  page(plain!, '/scoped-other', html('<p>Only for googlebot.</p>'), { 'x-robots-tag': 'googlebot: noai, noindex' });
  page(plain!, '/scoped-ai', html('<p>For GPTBot.</p>'), { 'x-robots-tag': ['noindex', 'GPTBot: noai'] });
  page(plain!, '/noai-meta', html('<p>Meta says no.</p>', '<meta name="robots" content="noai, noimageai">'));
  page(plain!, '/noimageai-meta', html('<p>Text is fine.</p><img src="/img/p.png" alt="A picture">', '<meta name="robots" content="noimageai">'));
  page(plain!, '/tdm-meta', html('<p>TDM meta.</p>', '<meta name="tdm-reservation" content="1"><meta name="tdm-policy" content="https://example.test/policy.json">'));
  page(plain!, '/tdm-header-over-meta', html('<p>Header wins.</p>', '<meta name="tdm-reservation" content="1">'), { 'tdm-reservation': '0' });
  page(plain!, '/tdm-header', html('<p>TDM header.</p>'), { 'tdm-reservation': '1', 'tdm-policy': 'https://example.test/p' });
  page(plain!, '/tdm-malformed', html('<p>TDM bad.</p>'), { 'tdm-reservation': 'yes please' });
  page(plain!, '/images-own-headers', html(`<img src="/img/kept.png"><img src="/img/reserved.png"><img src="${cdn!.url('/c.png')}">`));
  plain!.serve('/img/p.png', png(4, 4, 1), 'image/png');
  plain!.serve('/img/kept.png', png(5, 5, 2), 'image/png');
  plain!.route('/img/reserved.png', (_req, res) => {
    const body = png(6, 6, 3);
    res.writeHead(200, { 'content-type': 'image/png', 'x-robots-tag': 'noai', 'content-length': body.length }).end(body);
  });
  cdn!.serve('/c.png', png(7, 7, 4), 'image/png');
  cdn!.serve('/.well-known/tdmrep.json', JSON.stringify([{ location: '/*.png', 'tdm-reservation': 1 }]), 'application/json');

  tdmfile!.serve('/.well-known/tdmrep.json', JSON.stringify([
    { location: '/open/*', 'tdm-reservation': 0 },
    { location: '/*', 'tdm-reservation': 1, 'tdm-policy': 'https://example.test/policy.json' },
  ]), 'application/json');
  page(tdmfile!, '/open/a', html('<p>Open.</p>'), { 'tdm-reservation': '1' });
  page(tdmfile!, '/closed', html('<p>Closed.</p>'));

  robots!.serve('/robots.txt', 'User-agent: GPTBot\nDisallow: /no-ai/\n\nUser-agent: CCBot\nAllow: /\n\nUser-agent: *\nAllow: /\n', 'text/plain');
  page(robots!, '/no-ai/a', html('<p>No AI here.</p>'));
  page(robots!, '/yes', html('<p>CCBot may.</p>'));

  signal!.serve('/robots.txt', 'User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n', 'text/plain');
  page(signal!, '/a', html('<p>Signalled.</p>'));

  aitxt!.serve('/ai.txt', '# Spawning\nUser-Agent: *\nDisallow: *.jpg\nAllow: /\n', 'text/plain');
  page(aitxt!, '/gallery', html('<img src="/a.jpg" alt="Reserved jpeg"><img src="/b.png" alt="Fine png">'));
  aitxt!.serve('/a.jpg', png(8, 8, 5), 'image/jpeg');
  aitxt!.serve('/b.png', png(9, 9, 6), 'image/png');

  broken!.serve('/.well-known/tdmrep.json', '{"location": "/", "tdm-reservation": 1', 'application/json');
  broken!.serve('/ai.txt', '<html>an app shell, not an ai.txt</html>', 'text/html');
  broken!.serve('/robots.txt', '\u0000\u0001garbage\nContent-Signal: ai-train=perhaps\n', 'text/plain');
  page(broken!, '/a', html('<p>Broken files.</p>'));

  down!.serve('/.well-known/tdmrep.json', 'oops', 'text/plain', 503);
  page(down!, '/a', html('<p>Files down.</p>'));

  respect = await startTestService({ FETCH_RETRIES: '0' });
  record = await startTestService({ FETCH_RETRIES: '0', RIGHTS_POLICY: 'record' });
});

afterAll(async () => {
  await respect?.close();
  await record?.close();
  for (const site of Object.values(sites)) await site.close();
});

async function run(svc: TestService, kind: 'text' | 'images', url: string) {
  const location = await submit(svc.url, kind, url);
  return { location, task: (await waitForTask(svc.url, location)) as Record<string, unknown> & { status: string; rights: Rights | null; error: { code: string; message: string } | null } };
}

const seen = (r: Rights | null) => (r?.signals ?? []).map((s) => `${s.signal} ${s.value} → ${s.effect}`);

describe('text tasks under RIGHTS_POLICY=respect', () => {
  it('nothing said: kept, verdict unknown, no signals', async () => {
    const { task, location } = await run(respect, 'text', sites.plain!.url('/none'));
    expect(task).toMatchObject({ status: 'succeeded', rights: { verdict: 'unknown', signals: [] } });
    expect((await request(respect.url).get(`${location}/text`).expect(200)).text).toContain('Nothing said.');
  });

  it('X-Robots-Tag: noai fails the task with rights_reserved, keeps no text, and shows what was seen', async () => {
    const { task, location } = await run(respect, 'text', sites.plain!.url('/noai-header'));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' }, rights: { verdict: 'reserved' } });
    expect(task.error!.message).toContain('x-robots-tag "noai"');
    expect(task.rights!.signals).toEqual([{ signal: 'x-robots-tag', where: `X-Robots-Tag of ${sites.plain!.url('/noai-header')}`, value: 'noai', effect: 'reserved' }]);
    expect(task.page).toMatchObject({ http_status: 200 });
    await request(respect.url).get(`${location}/text`).expect(409);
  });

  it('a directive scoped to another bot is recorded and does not apply; one scoped to an AI crawler does', async () => {
    const other = await run(respect, 'text', sites.plain!.url('/scoped-other'));
    expect(other.task).toMatchObject({ status: 'succeeded', rights: { verdict: 'unknown' } });
    expect(seen(other.task.rights)).toEqual(['x-robots-tag googlebot: noai → none', 'x-robots-tag googlebot: noindex → none']);
    const ai = await run(respect, 'text', sites.plain!.url('/scoped-ai'));
    expect(ai.task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    expect(seen(ai.task.rights)).toEqual(['x-robots-tag noindex → none', 'x-robots-tag GPTBot: noai → reserved']);
  });

  it('<meta name="robots" content="noai"> reserves; noimageai alone keeps the text', async () => {
    expect((await run(respect, 'text', sites.plain!.url('/noai-meta'))).task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    const { task } = await run(respect, 'text', sites.plain!.url('/noimageai-meta'));
    expect(task).toMatchObject({ status: 'succeeded', rights: { verdict: 'unknown' } });
    expect(task.rights!.signals).toEqual([expect.objectContaining({ signal: 'meta-robots', value: 'noimageai', effect: 'none', note: 'applies to images only' })]);
  });

  it('TDMRep meta and header reserve; the header overrides the meta; a malformed value reads as unset', async () => {
    const meta = await run(respect, 'text', sites.plain!.url('/tdm-meta'));
    expect(meta.task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    expect(seen(meta.task.rights)).toEqual(['tdmrep-meta tdm-reservation: 1 → reserved', 'tdmrep-meta tdm-policy: https://example.test/policy.json → none']);
    expect((await run(respect, 'text', sites.plain!.url('/tdm-header'))).task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    const over = await run(respect, 'text', sites.plain!.url('/tdm-header-over-meta'));
    expect(over.task).toMatchObject({ status: 'succeeded', rights: { verdict: 'allowed' } });
    expect(over.task.rights!.signals.find((s) => s.signal === 'tdmrep-meta')).toMatchObject({ effect: 'none', note: expect.stringContaining('overridden by tdmrep-header') });
    expect((await run(respect, 'text', sites.plain!.url('/tdm-malformed'))).task).toMatchObject({ status: 'succeeded', rights: { verdict: 'unknown' } });
  });

  it('/.well-known/tdmrep.json: the first matching rule decides, and outranks the resource\'s own header', async () => {
    const open = await run(respect, 'text', sites.tdmfile!.url('/open/a'));
    expect(open.task).toMatchObject({ status: 'succeeded', rights: { verdict: 'allowed' } });
    expect(seen(open.task.rights)).toEqual(['tdmrep-file location /open/*: tdm-reservation 0 → allowed', 'tdmrep-header tdm-reservation: 1 → none']);
    const closed = await run(respect, 'text', sites.tdmfile!.url('/closed'));
    expect(closed.task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    expect(closed.task.rights!.signals[0]).toMatchObject({ where: `${sites.tdmfile!.origin}/.well-known/tdmrep.json rule 2`, effect: 'reserved' });
    expect(sites.tdmfile!.hits('/.well-known/tdmrep.json')).toBe(1); // cached per origin
  });

  it('robots.txt: an AI crawler\'s group disallowing the path reserves it; one allowing it allows', async () => {
    const no = await run(respect, 'text', sites.robots!.url('/no-ai/a'));
    expect(no.task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    expect(seen(no.task.rights)).toEqual(['robots.txt Disallow → reserved', 'robots.txt Allow → allowed']);
    expect(no.task.rights!.signals[0]!.where).toBe(`${sites.robots!.origin}/robots.txt line 2 (group "gptbot")`);
    const yes = await run(respect, 'text', sites.robots!.url('/yes'));
    expect(yes.task).toMatchObject({ status: 'succeeded', rights: { verdict: 'allowed' } });
    // One robots.txt fetch serves politeness and rights.
    expect(sites.robots!.hits('/robots.txt')).toBe(1);
  });

  it('Content-Signal: ai-train=no in robots.txt reserves', async () => {
    const { task } = await run(respect, 'text', sites.signal!.url('/a'));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'rights_reserved' } });
    expect(seen(task.rights)).toEqual(['content-signal search=yes, ai-train=no → reserved']);
  });

  it('malformed files are recorded and say nothing; an HTML page at /ai.txt is no ai.txt', async () => {
    const { task } = await run(respect, 'text', sites.broken!.url('/a'));
    expect(task).toMatchObject({ status: 'succeeded', rights: { verdict: 'unknown' } });
    expect(task.rights!.signals.map((s) => [s.signal, s.effect, s.note])).toEqual([
      ['content-signal', 'none', 'malformed: expected key=yes|no pairs'],
      ['tdmrep-file', 'none', 'malformed: ignored'],
    ]);
  });

  it('an unreachable rights file is recorded and says nothing', async () => {
    const { task } = await run(respect, 'text', sites.down!.url('/a'));
    expect(task).toMatchObject({ status: 'succeeded', rights: { verdict: 'unknown' } });
    expect(task.rights!.signals).toEqual([expect.objectContaining({ signal: 'tdmrep-file', effect: 'none', value: expect.stringContaining('503') })]);
  });
});

describe('images under RIGHTS_POLICY=respect', () => {
  const images = async (svc: TestService, location: string) =>
    (await request(svc.url).get(`${location}/images`).expect(200)).body.items as Array<{ source_url: string; outcome: string; rights: Rights | null; skip_reason: { code: string } | null; url: string | null; caption: string | null }>;

  it('a page\'s noimageai skips its images without downloading them', async () => {
    const { task, location } = await run(respect, 'images', sites.plain!.url('/noimageai-meta'));
    expect(task).toMatchObject({ status: 'succeeded', counts: { found: 1, skipped: 1, stored: 0 } });
    const [img] = await images(respect, location);
    expect(img).toMatchObject({ outcome: 'skipped', skip_reason: { code: 'rights_reserved' }, url: null, caption: 'A picture', rights: { verdict: 'reserved' } });
    expect(sites.plain!.hits('/img/p.png')).toBe(0);
  });

  it('an image\'s own X-Robots-Tag, or its origin\'s tdmrep.json, reserves it: listed as skipped, its bytes not kept', async () => {
    const before = filesUnder(path.join(respect.dataDir, 'media')).length;
    const { task, location } = await run(respect, 'images', sites.plain!.url('/images-own-headers'));
    expect(task).toMatchObject({ status: 'succeeded', counts: { found: 3, stored: 1, skipped: 2 } });
    const items = await images(respect, location);
    expect(items.map((i) => [new URL(i.source_url).pathname, i.outcome, i.rights?.verdict])).toEqual([
      ['/img/kept.png', 'stored', 'unknown'], ['/img/reserved.png', 'skipped', 'reserved'], ['/c.png', 'skipped', 'reserved'],
    ]);
    expect(seen(items[1]!.rights)).toEqual(['x-robots-tag noai → reserved']);
    expect(seen(items[2]!.rights)).toEqual(['tdmrep-file location /*.png: tdm-reservation 1 → reserved']);
    expect(sites.cdn!.hits('/c.png')).toBe(0);
    expect(filesUnder(path.join(respect.dataDir, 'media')).length).toBe(before + 1);
  });

  it('ai.txt reserves the file types it disallows', async () => {
    const { location } = await run(respect, 'images', sites.aitxt!.url('/gallery'));
    const items = await images(respect, location);
    expect(items.map((i) => [new URL(i.source_url).pathname, i.outcome])).toEqual([['/a.jpg', 'skipped'], ['/b.png', 'stored']]);
    expect(items[0]!.rights!.signals[0]).toMatchObject({ signal: 'ai.txt', value: 'Disallow', effect: 'reserved', where: `${sites.aitxt!.origin}/ai.txt line 3 (group "*")` });
  });
});

describe('RIGHTS_POLICY=record', () => {
  it('keeps reserved text and images and marks them', async () => {
    const { task, location } = await run(record, 'text', sites.plain!.url('/noai-header'));
    expect(task).toMatchObject({ status: 'succeeded', error: null, rights: { verdict: 'reserved' } });
    expect((await request(record.url).get(`${location}/text`).expect(200)).text).toContain('Header says no.');
    const imgs = await run(record, 'images', sites.plain!.url('/images-own-headers'));
    expect(imgs.task).toMatchObject({ status: 'succeeded', counts: { stored: 3, skipped: 0 } });
    const items = (await request(record.url).get(`${imgs.location}/images`).expect(200)).body.items as Array<{ rights: Rights; url: string }>;
    expect(items.map((i) => i.rights.verdict)).toEqual(['unknown', 'reserved', 'reserved']);
    for (const i of items) expect(i.url).toMatch(/^\/media\//);
  });
});
