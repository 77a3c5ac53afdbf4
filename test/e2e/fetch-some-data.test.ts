/** fetch_some_data.sh against a running service and local URLs, as the README shows it. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { png } from '../fixtures/images.js';
import { repoRoot } from '../helpers/processes.js';
import { withSiteAndService } from '../helpers/service.js';

const run = promisify(execFile);
const script = path.join(repoRoot, 'fetch_some_data.sh');

describe('fetch_some_data.sh', () => {
  const ctx = withSiteAndService();

  it('submits text and images tasks for local URLs, waits, and prints where the results are', async () => {
    ctx.site.serve('/page', '<title>T</title><p>Hello from a local page</p><img src="/a.png">', 'text/html');
    ctx.site.serve('/a.png', png(2, 2, 3), 'image/png');
    const { stdout } = await run('bash', [script, '--api', ctx.svc.url, ctx.site.url('/page')], { timeout: 60_000 });
    expect(stdout).toMatch(new RegExp(`^OK +text +\\d+ chars → ${ctx.svc.url}/text_tasks/[\\w-]+/text$`, 'm'));
    expect(stdout).toMatch(/^OK +images \{"found":1,"stored":1,"reused":0,"failed":0,"skipped":0\}/m);
    expect(stdout).toMatch(new RegExp(`stored +${ctx.svc.url}/media/images/[0-9a-f]{2}/[0-9a-f]{64}\\.png +← ${ctx.site.url('/a.png')}`));
  });

  it('exits non-zero and says so when a task fails', async () => {
    const err = await run('bash', [script, '--api', ctx.svc.url, ctx.site.url('/missing')], { timeout: 60_000 }).catch((e: { code: number; stdout: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stdout: string }).stdout).toMatch(/^FAILED .*404/m);
  });

  it('explains when no service answers', async () => {
    const err = await run('bash', [script, '--api', 'http://127.0.0.1:9', ctx.site.url('/page')]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toContain('no service answers at http://127.0.0.1:9');
  });
});
