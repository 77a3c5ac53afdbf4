/** The scrapeds CLI, run as a child process (the built dist/cli/main.js) against the service. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { serveDatasetSite, type DatasetSite } from '../helpers/batches.js';
import { ensureBuilt, repoRoot } from '../helpers/processes.js';
import { tempDir, withSiteAndService } from '../helpers/service.js';

const exec = promisify(execFile);
const cli = path.join(repoRoot, 'dist/cli/main.js');
const run = (args: string[], input?: string) => {
  const child = exec(process.execPath, [cli, ...args], { timeout: 60_000, env: { ...process.env, SCRAPEDS_API: '' } });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return child;
};
const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the command to fail'); }, (e: { code: number; stderr: string }) => e);

describe('scrapeds CLI', () => {
  let data: DatasetSite;
  const ctx = withSiteAndService({ FETCH_RETRIES: '0' }, (site) => {
    data = serveDatasetSite(site);
  });
  beforeAll(() => {
    if (!fs.existsSync(cli)) fs.rmSync(path.join(repoRoot, 'dist/main.js'), { force: true });
    ensureBuilt();
  }, 120_000);

  it('submits a URL file, waits with progress, streams results and downloads a verified export', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'urls.txt');
    fs.writeFileSync(file, `# pages\n${data.pages.join('\n')}\n${JSON.stringify({ url: ctx.site.url('/broken') })}\n`);
    const submitted = await run(['submit', file, '--api', ctx.svc.url, '--kinds', 'text,images', '--wait', '--json']);
    const batch = JSON.parse(submitted.stdout);
    expect(batch).toMatchObject({ status: 'completed', url_count: 4, counts: { succeeded: 6, failed: 2 } });

    const status = await run(['status', batch.id, '--api', ctx.svc.url]);
    expect(status.stdout).toMatch(/100\.0% 8\/8 done \(6 ok, 2 failed\)/);

    const results = await run(['results', batch.id, '--api', ctx.svc.url]);
    expect(results.stdout.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const out = path.join(dir, 'shards');
    const exported = await run(['export', batch.id, '--api', ctx.svc.url, '--format', 'webdataset', '--out', out, '--json']);
    const exp = JSON.parse(exported.stdout);
    for (const shard of exp.shards) {
      expect(createHash('sha256').update(fs.readFileSync(path.join(out, shard.name))).digest('hex')).toBe(shard.sha256);
    }
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))).toMatchObject({ format: 'webdataset', records: 7 });

    const plain = await run(['export', batch.id, '--api', ctx.svc.url, '--format', 'jsonl', '--out', path.join(dir, 'jsonl')]);
    expect(plain.stderr).toMatch(/^\[1\/2\] images-00000\.jsonl\.gz \d+ samples, \d+ bytes, sha256 ok$/m);
    expect(plain.stdout).toMatch(/^export [\w-]+: 2 shards in /);
  });

  it('reads stdin, prints plain progress lines off a terminal, and names a bad line', async () => {
    const done = await run(['submit', '-', '--api', ctx.svc.url, '--wait'], `${data.pages[0]}\n`);
    expect(done.stdout).toMatch(/^batch [\w-]+: 100\.0% 1\/1 done \(1 ok, 0 failed\)/m);
    expect(done.stderr).toMatch(/tasks queued/);

    const bad = await fail(run(['submit', '-', '--api', ctx.svc.url], `${data.pages[0]}\n{"url": 5}\n`));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/HTTP 400 .*line 2: url: must be a string/);

    const usage = await fail(run(['export', 'x', '--api', ctx.svc.url]));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--format');

    const down = await fail(run(['status', 'x', '--api', 'http://127.0.0.1:9']));
    expect(down.stderr).toContain('no service answers at http://127.0.0.1:9');
  });
});
