/** The built entry point as a user runs it (`npm start` runs `node dist/main.js`). */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { submit, tempDir } from '../helpers/service.js';

const root = path.resolve(import.meta.dirname, '../..');

function start(env: Record<string, string>): { child: ChildProcess; lines: Array<Record<string, unknown>>; url: Promise<string> } {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Array<Record<string, unknown>> = [];
  const url = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`service exited with ${code} before listening`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (entry.msg === 'listening') resolve(entry.url as string);
    });
  });
  return { child, lines, url };
}

describe('the service process', () => {
  let site: FixtureSite;
  beforeAll(async () => {
    if (!fs.existsSync(path.join(root, 'dist/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    site = await startFixtureSite();
  });
  afterAll(async () => {
    await site.close();
  });

  it('logs JSON lines with task id and URL, and drains a running task on SIGTERM', async () => {
    site.route('/slow', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 700));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>worth the wait</p>');
    });
    const dataDir = tempDir();
    const svc = start({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'info' });
    const base = await svc.url;
    const location = await submit(base, 'text', site.url('/slow'));
    while (site.hits('/slow') < 1) await new Promise((r) => setTimeout(r, 10));
    const exited = new Promise<number | null>((resolve) => svc.child.once('exit', (code) => resolve(code)));
    svc.child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const store = openSqliteTaskStore(path.join(dataDir, 'tasks.sqlite'));
    const task = await store.getTask(location.split('/').pop() as string);
    await store.close();
    expect(task?.status).toBe('succeeded');
    const finished = svc.lines.find((l) => l.msg === 'task finished');
    expect(finished).toMatchObject({ taskId: task?.id, url: site.url('/slow'), status: 'succeeded', level: 30 });
    expect(svc.lines.some((l) => l.msg === 'draining')).toBe(true);
  });

  it('refuses a bad configuration with a clear message and exit code 1', () => {
    let out = '';
    try {
      execFileSync(process.execPath, ['dist/main.js'], { cwd: root, env: { ...process.env, PORT: 'eighty' }, stdio: 'pipe' });
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      expect(e.status).toBe(1);
      out = e.stderr.toString();
    }
    expect(out).toContain('PORT');
  });
});
