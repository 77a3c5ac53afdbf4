/**
 * One parse thread, a hostile page (deeply nested <div>s, seconds to parse) and ordinary pages fetched at
 * the same moment, on the built service (`node dist/main.js`: parse threads cannot load TypeScript sources).
 * The ordinary pages must succeed: waiting behind the hostile page does not count against their parse timeout,
 * and the nesting cap refuses the hostile page before it costs much.
 */
import type http from 'node:http';
import zlib from 'node:zlib';
import type { FixtureSite } from '../fixtures/site.js';
import { spawnService, withBuiltServiceAndSite } from '../helpers/processes.js';
import { submit, tempDir, waitForTask } from '../helpers/service.js';

const HOSTILE = `<html><body>${'<div>'.repeat(400_000)}deep</body></html>`;
const HOSTILE_GZIP = zlib.gzipSync(HOSTILE);
const ORDINARY = ['/news/1', '/news/2', '/news/3'];
const ARTICLE = Array.from({ length: 1500 }, (_, i) => `<p>Paragraph ${i} of the news, with <a href="/n/${i}">a link</a> and <b>bold</b>.</p>`).join('\n');

/**
 * Serves the hostile page and the ordinary ones so that they reach the parser together, the hostile one a
 * moment first: every page waits until all were asked for, then the hostile one is answered, and the
 * others 50 ms later, so they wait for the thread while it parses. All are gzipped (the hostile page's 2 MB
 * are 4 kB on the wire). An ordinary page is an ordinary article (150 kB): each takes a while to parse too.
 */
function serveTogether(site: FixtureSite, hostile: string): void {
  const answers: Array<() => void> = [];
  const arrive = (answer: () => void, first = false) => {
    if (first) answers.unshift(answer);
    else answers.push(answer);
    if (answers.length === ORDINARY.length + 1) {
      answers[0]!();
      setTimeout(() => answers.slice(1).forEach((go) => go()), 50);
    }
  };
  site.route(hostile, (_req, res: http.ServerResponse) => arrive(() => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(HOSTILE_GZIP);
  }, true));
  for (const p of ORDINARY) {
    site.route(p, (_req, res: http.ServerResponse) => arrive(() => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' })
        .end(zlib.gzipSync(`<html><head><title>${p}</title></head><body>${ARTICLE}</body></html>`));
    }));
  }
}

describe('one parse thread, a hostile page and ordinary pages', () => {
  const ctx = withBuiltServiceAndSite();

  async function run(hostilePath: string, env: Record<string, string>) {
    const { site } = ctx;
    serveTogether(site, hostilePath);
    const svc = spawnService({
      DATA_DIR: tempDir(), PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_NETWORKS: 'true',
      PARSE_THREADS: '1', PARSE_TIMEOUT_MS: '5000', WORKER_CONCURRENCY: '8', PAGE_REUSE_MS: '0', ...env,
    });
    const base = (await svc.ready) as string;
    const hostile = await submit(base, 'text', site.url(hostilePath));
    const ordinary = await Promise.all(ORDINARY.map((p) => submit(base, 'text', site.url(p))));
    const results = { hostile: await waitForTask(base, hostile, 60_000), ordinary: await Promise.all(ordinary.map((l) => waitForTask(base, l, 60_000))) };
    await svc.stop();
    for (const p of [hostilePath, ...ORDINARY]) expect(site.hits(p)).toBe(1);
    site.resetHits();
    return results;
  }

  it('parses the ordinary pages when the hostile one runs into the parse timeout', async () => {
    const { hostile, ordinary } = await run('/hostile-slow', { PARSE_MAX_DEPTH: '1000000' });
    expect(hostile).toMatchObject({ status: 'failed', error: { code: 'timeout', message: expect.stringContaining('parsing the page took longer than 5000 ms') } });
    expect(ordinary.map((t) => [t.status, (t.page as { title?: string } | undefined)?.title])).toEqual(ORDINARY.map((p) => ['succeeded', p]));
  }, 120_000);

  it('refuses the hostile page at the nesting cap and parses the ordinary ones', async () => {
    const { hostile, ordinary } = await run('/hostile-capped', {});
    expect(hostile).toMatchObject({ status: 'failed', error: { code: 'too_large', message: expect.stringContaining('nests elements more than 1024 deep') } });
    expect(ordinary.map((t) => t.status)).toEqual(ORDINARY.map(() => 'succeeded'));
  }, 120_000);
});
