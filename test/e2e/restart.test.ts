import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { startTestService, submit, tempDir, waitForTask } from '../helpers/service.js';

describe('restart resume on the embedded default', () => {
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite();
  });
  afterAll(async () => {
    await site.close();
  });

  it('finishes tasks that were queued or running when the service stopped', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    site.route('/held', async (_req, res) => {
      await gate;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>finally</p>');
    });
    const dataDir = tempDir();
    const first = await startTestService({ WORKER_CONCURRENCY: '1', SHUTDOWN_GRACE_MS: '100' }, dataDir);
    const locations = [];
    for (let i = 0; i < 3; i++) locations.push(await submit(first.url, 'text', site.url(`/held?i=${i}`)));
    while (site.hits('/held') < 1) await new Promise((r) => setTimeout(r, 10));
    await first.close(); // one task running past the grace period, two still queued

    const stateAtStop = await Promise.all(locations.map((l) => l.split('/').pop() as string));
    release();
    const second = await startTestService({}, dataDir);
    try {
      for (const location of locations) {
        const task = await waitForTask(second.url, location);
        expect(task.status).toBe('succeeded');
      }
      const resumed = await Promise.all(stateAtStop.map((id) => second.store.getTask(id)));
      expect(resumed.map((t) => t?.attempts)).toEqual([2, 1, 1]);
    } finally {
      await second.close();
    }
  });
});
