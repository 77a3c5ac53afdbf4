/** The `scrapeds` CLI as a child process against the running service and a fixture site. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { serveDatasetSite, type DatasetSite } from '../helpers/batches.js';
import { serveCrawlSite } from '../helpers/crawl-site.js';
import { startFixtureSite } from '../fixtures/site.js';
import { tempDir, withSiteAndService } from '../helpers/service.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('scrapeds CLI', () => {
  let data: DatasetSite;
  const ctx = withSiteAndService({ FETCH_RETRIES: '0' }, (site) => {
    data = serveDatasetSite(site);
  });
  const api = () => ['--api', ctx.svc.url];
  let batchId: string;

  it('submit FILE --wait: a batch from a URL list (plain and NDJSON lines), progress as plain lines off a terminal, exit 3 when tasks failed', async () => {
    const file = path.join(tempDir(), 'urls.txt');
    const [one, two, three] = data.pages;
    fs.writeFileSync(file, `# my URLs\n${one}\n\n${JSON.stringify({ url: two })}\n${three}\n${ctx.site.url('/broken')}\n`);
    const r = await runCli([...api(), 'submit', file, '--kinds', 'text,images', '--wait']);
    expect(r.stderr).toMatch(/^batch \S+ (running|completed): \d+\/8 done, \d+ failed, .* tasks\/s, ETA \S+$/m);
    expect(r.stderr).not.toContain('\u001b['); // no terminal control codes in a pipe
    const last = r.stdout.trim().split('\n').at(-1) as string;
    expect(last).toMatch(/^batch (\S+) completed: 8\/8 done, 2 failed, /);
    batchId = /^batch (\S+)/.exec(last)?.[1] as string;
    expect(r.code).toBe(3);
  });

  it('status ID --json: the batch as the API gives it', async () => {
    const r = await runCli([...api(), '--json', 'status', batchId]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: batchId, status: 'completed', counts: { succeeded: 6, failed: 2, finished: 8 } });
  });

  it('results ID: one NDJSON record per finished task, with text and image file URLs', async () => {
    const r = await runCli([...api(), 'results', batchId]);
    expect(r.code).toBe(0);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(8);
    expect(records.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(records[0]).toMatchObject({ kind: 'text', status: 'succeeded', text: expect.stringContaining('First page text.') });
    expect(records[1]).toMatchObject({ kind: 'images', images: expect.arrayContaining([expect.objectContaining({ sha256: sha256(data.images['/img/a.png'] as Buffer) })]) });
    const resumed = await runCli([...api(), 'results', batchId, '--cursor', records[5]?.cursor as string]);
    expect(resumed.stdout.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([6, 7]);
  });

  it('export ID --format webdataset --out DIR: downloads every shard, checks its sha256, writes the manifest', async () => {
    const dir = tempDir();
    const r = await runCli([...api(), 'export', batchId, '--format', 'webdataset', '--out', dir]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { shards: Array<{ name: string; sha256: string; bytes: number }> };
    expect(manifest.shards.length).toBeGreaterThan(0);
    for (const s of manifest.shards) {
      const bytes = fs.readFileSync(path.join(dir, s.name));
      expect([bytes.length, sha256(bytes)]).toEqual([s.bytes, s.sha256]);
      expect(r.stdout).toContain(`${s.name}  `);
    }
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`^export \\S+: ${manifest.shards.length} shards verified in ${dir}$`, 'm'));
  });

  it('submit --wait --json prints the finished batch; export --format jsonl reports each verified shard', async () => {
    const r = await runCli([...api(), '--json', 'submit', '-', '--wait'], { input: `${data.pages[0]}\n${data.pages[1]}\n` });
    expect(r.code).toBe(0);
    const batch = JSON.parse(r.stdout);
    expect(batch).toMatchObject({ status: 'completed', url_count: 2, counts: { succeeded: 2, failed: 0 } });
    const dir = tempDir();
    const exp = await runCli([...api(), 'export', batch.id, '--format', 'jsonl', '--out', dir, '--near-duplicates', '0', '--images', 'resized']);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toMatch(/^00000\.jsonl\.gz {2}2 records {2}\d+ bytes {2}sha256 [0-9a-f]{64} ok$/m);
    // The options reached the export: its manifest says what was compared and dropped.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ near_duplicates: { text: { max_distance: 0, dropped: 0 } }, images: { variant: 'resized' } });
  });

  it('export refuses a shard whose bytes do not match the sha256 the API listed, and keeps no partial file', async () => {
    // A stand-in API on the fixture site whose export lists a wrong digest for its one shard.
    ctx.site.route('/fake/batches/b1/exports', (_req, res) => {
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'e1', status: 'succeeded', error: null, manifest: {}, shards: [{ name: '00000.tar', url: '/fake/shard.tar', bytes: 5, sha256: '0'.repeat(64), records: 1 }] }));
    });
    ctx.site.serve('/fake/shard.tar', 'hello', 'application/x-tar');
    const dir = tempDir();
    const r = await runCli(['--api', ctx.site.url('/fake'), 'export', 'b1', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shard 00000.tar: got 5 bytes with sha256 ${sha256(Buffer.from('hello'))}, expected 5 bytes with sha256 ${'0'.repeat(64)}`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('submit - reads stdin; a bad line is named by its number in the user\'s input and nothing is submitted', async () => {
    const r = await runCli([...api(), 'submit', '-'], { input: `${data.pages[0]}\nftp://example.com/x\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^scrapeds: POST \/batches\?kinds=text answered 400 .*line 2: url: /m);
    const ok = await runCli([...api(), '--json', 'submit', '-'], { input: `${data.pages[0]}\n` });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ task_count: 1, kinds: ['text'] });
  });

  it('submit --webhook passes the endpoint, its secret (in a header) and events; the 202 shows them', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const r = await runCli([...api(), '--json', 'submit', '-', '--webhook', 'http://127.0.0.1:9/hook', '--webhook-secret', secret, '--webhook-events', 'batch.completed,batch.failed'], { input: `${data.pages[0]}\n` });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).webhook).toEqual({ url: 'http://127.0.0.1:9/hook', secret, events: ['batch.completed', 'batch.failed'] });
  });

  it('crawl URL --max-pages N sends the documented crawl shape, with the API key as a bearer token', async () => {
    let seen: { body: unknown; auth: unknown } | undefined;
    ctx.site.route('/fake/batches', (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen = { body: JSON.parse(body), auth: req.headers.authorization };
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c1', status: 'running', task_count: 1, counts: { queued: 1, running: 0, succeeded: 0, failed: 0, finished: 0 }, rates: { tasks_per_second: null, eta_seconds: null } }));
      });
    });
    const r = await runCli(['--api', ctx.site.url('/fake'), 'crawl', 'https://example.com/', '--max-pages', '50', '--max-depth', '2', '--exclude', '/private/', '--kinds', 'text,images'], { env: { SCRAPEDS_API_KEY: 'sk_test' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('batch c1 running: 1 tasks');
    expect(seen).toEqual({ body: { crawl: { url: 'https://example.com/', max_pages: 50, max_depth: 2, exclude: ['/private/'] }, kinds: ['text', 'images'] }, auth: 'Bearer sk_test' });
  });

  it('crawl URL --wait --json crawls the site on the service and prints the finished crawl with its counters', async () => {
    // A site of its own: the service has the shared site's robots.txt (no Sitemap: line) cached from the tests above.
    const own = await startFixtureSite();
    try {
      const site = serveCrawlSite(own, 'http://localhost:9');
      const r = await runCli([...api(), '--json', 'crawl', site.start, '--max-depth', '2', '--exclude', '**/private/**', '--strip-tracking', '--wait']);
      expect(r.code).toBe(0);
      const batch = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
      expect(batch).toMatchObject({ status: 'completed', counts: { succeeded: 7, failed: 0 } });
      expect(batch.crawl).toMatchObject({ url: site.start, max_depth: 2, exclude: ['**/private/**'], strip_tracking_params: true, counters: { queued: 7, done: 7 } });
    } finally {
      await own.close();
    }
  });

  it('says when no service answers', async () => {
    const r = await runCli(['--api', 'http://127.0.0.1:9', 'status', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scrapeds: no service answers at http://127.0.0.1:9');
  });
});
