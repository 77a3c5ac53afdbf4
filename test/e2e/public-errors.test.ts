/**
 * A task that fails on the service's own trouble (here: the media directory replaced by a file, so every
 * write fails with an OS error naming an absolute path) shows users a code and a safe message; the OS
 * detail goes to the log only.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { capturingLogger } from '../fixtures/log.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startTestService, submit, tempDir, waitForTask, type TestService } from '../helpers/service.js';

describe('internal failures are shown without internal details', () => {
  let site: FixtureSite;
  let svc: TestService;
  const { log, lines } = capturingLogger();
  beforeAll(async () => {
    site = await startFixtureSite();
    site.serve('/a.png', png(3, 3, 11), 'image/png');
    site.serve('/page', '<html><body><img src="/a.png"></body></html>', 'text/html');
    svc = await startTestService({}, tempDir(), log);
    const media = path.join(svc.dataDir, 'media');
    fs.rmSync(media, { recursive: true, force: true });
    fs.writeFileSync(media, 'not a directory');
  });
  afterAll(async () => {
    await svc.close();
    await site.close();
  });

  it('a storage failure reads storage_error with a safe message in the API, and the detail in the log', async () => {
    const location = await submit(svc.url, 'images', site.url('/page'));
    const task = (await waitForTask(svc.url, location)) as { status: string; error: { code: string; message: string } };
    expect(task.status).toBe('failed');
    expect(task.error.code).toBe('storage_error');
    const shown = JSON.stringify(task) + JSON.stringify((await request(svc.url).get(`${location}/images`).expect(200)).body);
    for (const secret of [svc.dataDir, 'ENOTDIR', 'mkdir', 'EEXIST', '/tmp/']) expect({ secret, shown: shown.includes(secret) }).toEqual({ secret, shown: false });
    const listed = JSON.stringify((await request(svc.url).get('/images_tasks').expect(200)).body);
    expect(listed).not.toContain(svc.dataDir);
    // The operator still learns what happened.
    expect(lines.some((l) => JSON.stringify(l).includes(path.join(svc.dataDir, 'media')) && (l.level as number) >= 50)).toBe(true);
  });
});
