/** The built entry point as a user runs it (`npm start` runs `node dist/main.js`). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { repoRoot, spawnService, standaloneEnv, withBuiltServiceAndSite } from '../helpers/processes.js';
import { submit, tempDir } from '../helpers/service.js';

describe('the service process', () => {
  const ctx = withBuiltServiceAndSite();

  it('logs JSON lines with task id and URL, and drains a running task on SIGTERM', async () => {
    const { site } = ctx;
    site.route('/slow', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 700));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>worth the wait</p>');
    });
    const dataDir = tempDir();
    const svc = spawnService({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_NETWORKS: 'true' });
    const base = (await svc.ready) as string;
    const location = await submit(base, 'text', site.url('/slow'));
    while (site.hits('/slow') < 1) await new Promise((r) => setTimeout(r, 10));
    expect(await svc.stop('SIGTERM')).toBe(0);

    const store = openSqliteTaskStore(path.join(dataDir, 'tasks.sqlite'));
    const task = await store.getTask(location.split('/').pop() as string);
    await store.close();
    expect(task?.status).toBe('succeeded');
    const finished = svc.lines.find((l) => l.msg === 'task finished');
    expect(finished).toMatchObject({ taskId: task?.id, url: site.url('/slow'), status: 'succeeded', level: 30 });
    expect(svc.lines.some((l) => l.msg === 'draining')).toBe(true);
    expect(svc.lines.every((l) => !l.unparsed)).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ ROLE: 'worker' }, 'AMQP_URL'],
    [{ ALLOW_CIDRS: 'not-a-cidr' }, 'not-a-cidr'],
  ])('refuses the bad configuration %o with a clear message and exit code 1', (env, mentioned) => {
    let out = '';
    try {
      execFileSync(process.execPath, ['dist/main.js'], { cwd: repoRoot, env: { ...standaloneEnv(), DATA_DIR: tempDir(), ...env }, stdio: 'pipe' });
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      expect(e.status).toBe(1);
      out = e.stderr.toString();
    }
    expect(out).toContain(mentioned);
  });
});
