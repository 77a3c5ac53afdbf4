/**
 * ./deploy.sh for real: the compose stack (nginx, API ×2, worker ×2, MongoDB, RabbitMQ) built from the local
 * base images (scripts/local-images.sh; no Docker Hub), driven through nginx's published port. It scales
 * mid-run, loses a worker and RabbitMQ to `docker kill`, goes down and up again, and keeps every task and file.
 *
 * Isolation: the stack's own network is `internal` (no route out of the host), created here so the fixture
 * site can listen on the host's side of it; nginx alone joins a second network, to publish its port on
 * 127.0.0.1. So the containers reach each other and the test's site, nothing else. Starts dockerd when none
 * runs (and stops it after); removes its containers, volumes and network.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { png } from '../fixtures/images.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { describeWithDocker, ensureDockerEngine, removeStaleProjects, type DockerEngine } from '../helpers/docker.js';
import { repoRoot } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { freePort } from '../helpers/free-port.js';

const exec = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MINUTE = 60_000;
const IMAGE_POOL = 24;

type Task = { id: string; status: string; attempts: number; kind: string };

describeWithDocker('deploy.sh: the compose stack for real', () => {
  const project = `scrapeds-e2e-${randomBytes(3).toString('hex')}`;
  const network = `${project}-internal`;
  const dir = tempDir('scrapeds-deploy-');
  let engine: DockerEngine | undefined;
  let site: FixtureSite;
  let base: string;
  let env: NodeJS.ProcessEnv;
  const originals = new Map<string, Buffer>();
  const locations: string[] = [];
  let overrideFile: string;

  const docker = async (args: string[], timeout = 5 * MINUTE) => (await exec('docker', args, { env, cwd: repoRoot, timeout, maxBuffer: 64 * 1024 * 1024 })).stdout;
  const compose = (args: string[], timeout?: number) => docker(['compose', ...args], timeout);
  const containers = async (service: string) => (await compose(['ps', '-q', service])).split('\n').filter(Boolean);
  const logsOf = async (id: string) => {
    const { stdout, stderr } = await exec('docker', ['logs', id], { env, maxBuffer: 64 * 1024 * 1024 });
    return `${stdout}\n${stderr}`;
  };
  const deploy = async () => {
    const { stdout } = await exec('./deploy.sh', [], { env, cwd: repoRoot, timeout: 40 * MINUTE, maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`./deploy.sh failed:\n${err.stdout?.slice(-4000)}\n${err.stderr?.slice(-4000)}`);
    });
    return stdout;
  };

  const api = async (pathname: string, init?: RequestInit) => {
    const res = await fetch(new URL(pathname, base), init);
    return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer()) };
  };
  const submit = async (n: number) => {
    const kind = n % 2 ? 'images' : 'text';
    const res = await fetch(`${base}/${kind}_tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: site.url(`/p?n=${n}`) }) });
    expect(res.status).toBe(202);
    locations.push(res.headers.get('location')!);
  };
  const waitAllFinal = async (timeoutMs: number): Promise<Task[]> => {
    const deadline = Date.now() + timeoutMs;
    const done = new Map<string, Task>();
    while (done.size < locations.length) {
      for (const loc of locations.filter((l) => !done.has(l))) {
        const res = await api(loc).catch(() => undefined); // a replica may be restarting
        const t = res?.status === 200 ? (res.body as Task) : undefined;
        if (t && (t.status === 'succeeded' || t.status === 'failed')) done.set(loc, t);
      }
      if (done.size < locations.length) {
        if (Date.now() > deadline) throw new Error(`${locations.length - done.size} tasks not final after ${timeoutMs} ms`);
        await sleep(500);
      }
    }
    return locations.map((l) => done.get(l)!);
  };
  /** Every container healthy (the health checks run every 5-10 s, so right after a start they may not have yet). */
  const waitHealthy = async (expected: string[]) => {
    let ps: string[] = [];
    for (const deadline = Date.now() + 3 * MINUTE; Date.now() < deadline; await sleep(2000)) {
      ps = (await compose(['ps', '--format', '{{.Service}} {{.Health}}'])).trim().split('\n').sort();
      if (ps.every((l) => l.endsWith(' healthy'))) break;
    }
    expect(ps).toEqual(expected);
  };
  const finishedIn = async (id: string) => (await logsOf(id)).split('\n').filter((l) => l.includes('"msg":"task finished"')).length;

  beforeAll(async () => {
    engine = await ensureDockerEngine();
    // A run killed before its afterAll leaves its stack running (and holding CPU); a run takes well under 2 hours.
    const stale = await removeStaleProjects('scrapeds-e2e-', 2 * 60 * MINUTE);
    if (stale.length) console.warn(`removed compose projects left by killed runs: ${stale.join(', ')}`);
    await exec('docker', ['network', 'create', '--internal', network]);
    const gateway = (await exec('docker', ['network', 'inspect', network, '--format', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    site = await startFixtureSite(gateway);
    site.route('/p', (req, res) => {
      const n = Number(new URL(req.url ?? '', 'http://x').searchParams.get('n'));
      const imgs = [0, 1, 2].map((k) => `<img src="/pool/${(n * 5 + k * 7) % IMAGE_POOL}.png">`).join('');
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><h1>Page ${n}</h1><p>text of page ${n}</p>${imgs}</body></html>`);
    });
    // Pages for the S3 variant: images no earlier task stored, so they must go to the bucket.
    site.route('/q', (req, res) => {
      const n = Number(new URL(req.url ?? '', 'http://x').searchParams.get('n'));
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><img src="/s3pool/${n % 4}.png"><img src="/s3pool/${(n + 1) % 4}.png"></body></html>`);
    });
    for (let i = 0; i < 4; i++) {
      const body = png(7, 5, 3000 + i);
      originals.set(site.url(`/s3pool/${i}.png`), body);
      site.serve(`/s3pool/${i}.png`, body, 'image/png');
    }
    for (let i = 0; i < IMAGE_POOL; i++) {
      const body = png(4 + (i % 5), 3, 2000 + i);
      originals.set(site.url(`/pool/${i}.png`), body);
      site.route(`/pool/${i}.png`, async (_req, res) => {
        await sleep(150); // long enough that tasks overlap the scaling and the kills
        res.writeHead(200, { 'content-type': 'image/png' }).end(body);
      });
    }
    // The stack's default network is the internal one made above; nginx also joins `front` to publish its port.
    const override = path.join(dir, 'isolation.yml');
    fs.writeFileSync(
      override,
      `networks:\n  default:\n    name: ${network}\n    external: true\n  front: {}\nservices:\n  nginx:\n    networks: [default, front]\n    ports: !override\n      - "127.0.0.1:\${PORT}:8080"\n`,
    );
    overrideFile = override;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const ca = process.env.SCRAPEDS_EXTRA_CA_FILE ?? process.env.NODE_EXTRA_CA_CERTS;
    env = {
      ...process.env,
      COMPOSE_PROJECT_NAME: project,
      COMPOSE_FILE: [path.join(repoRoot, 'docker-compose.yml'), override].join(path.delimiter),
      PORT: String(port),
      LOCAL_IMAGES: '1',
      DEPLOY_TIMEOUT: '600',
      // The one private address the workers may fetch from: the test's site on the host.
      ALLOW_CIDRS: `${gateway}/32`,
      WORKER_CONCURRENCY: '4',
      ...(ca ? { EXTRA_CA_FILE: ca } : {}),
    };
    // The test services' settings (./test.sh exports them) must not reach compose's interpolation.
    for (const k of Object.keys(env)) if (/^(MONGO_URL|AMQP_URL|PUBLIC_MEDIA_URL|PUBLIC_API_URL|BLOB_STORE|S3_.*|AWS_.*)$/.test(k)) delete env[k];
    // deploy.sh (LOCAL_IMAGES=1) finds these itself; the test's own `compose up`s need them too.
    const images = (await exec('scripts/local-images.sh', [], { env, cwd: repoRoot, timeout: 30 * MINUTE })).stdout;
    for (const line of images.trim().split('\n')) {
      const [name, value] = line.split('=', 2) as [string, string];
      env[name] = value;
    }
  }, 45 * MINUTE);

  afterAll(async () => {
    await compose(['down', '-v', '--remove-orphans'], 5 * MINUTE).catch(() => undefined);
    await exec('docker', ['network', 'rm', network]).catch(() => undefined);
    await site?.close();
    await engine?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 10 * MINUTE);

  it('deploys from local images: healthy, non-root, through nginx, with no way out', async () => {
    await deploy();
    expect((await api('/health')).body).toEqual({ status: 'ok' });

    await waitHealthy(['api healthy', 'api healthy', 'mongo healthy', 'nginx healthy', 'rabbitmq healthy', 'worker healthy', 'worker healthy']);
    for (const id of (await compose(['ps', '-q'])).split('\n').filter(Boolean)) {
      const uids = (await docker(['top', id, '-eo', 'pid,uid'])).trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
      expect(uids.length).toBeGreaterThan(0);
      expect(uids.filter((u) => u === '0')).toEqual([]);
    }
    // A worker cannot open a connection off the host (an address literal: no DNS involved).
    const [worker] = await containers('worker');
    const probe = await docker(['exec', worker!, 'node', '-e', "fetch('http://192.0.2.1/', { signal: AbortSignal.timeout(5000) }).then(() => console.log('reached'), (e) => console.log('blocked', e.cause?.code ?? e.name))"]);
    expect(probe).toMatch(/^blocked/);
  }, 45 * MINUTE);

  it('scales mid-run, survives a killed worker and a killed RabbitMQ, and finishes every task', async () => {
    for (let n = 0; n < 30; n++) await submit(n);
    await compose(['up', '-d', '--no-build', '--scale', 'worker=4', '--scale', 'api=3']);
    const apis = await containers('api');
    const workers = await containers('worker');
    expect(apis).toHaveLength(3);
    expect(workers).toHaveLength(4);
    // nginx re-resolves `api` within 5 s: wait until the new replica is in its answer.
    await sleep(6000);
    for (let n = 30; n < 90; n++) await submit(n);

    // A worker with work in hand dies; so does the broker. restart: unless-stopped does not undo a kill, so the
    // operator's `up` brings them back, as it would in production.
    let victim: string | undefined;
    for (const deadline = Date.now() + 5 * MINUTE; !victim && Date.now() < deadline; await sleep(500)) {
      for (const id of workers) if ((await finishedIn(id)) >= 2) victim = id;
    }
    expect(victim).toBeDefined();
    await docker(['kill', victim!]);
    const [rabbit] = await containers('rabbitmq');
    await docker(['kill', rabbit!]);
    await sleep(3000);
    await compose(['up', '-d', '--no-build', '--scale', 'worker=4', '--scale', 'api=3']);

    const tasks = await waitAllFinal(20 * MINUTE);
    expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);
    expect(tasks).toHaveLength(90);

    // Every replica got work: each API answered requests, each worker finished tasks.
    for (const id of apis) expect((await logsOf(id)).match(/"req":\{[^}]*"method":"(GET|POST)"/g)?.length ?? 0).toBeGreaterThan(0);
    for (const id of await containers('worker')) expect(await finishedIn(id)).toBeGreaterThan(0);

    // Image files through nginx's /media/ are the source bytes.
    const images = locations.filter((l) => l.startsWith('/images_tasks/')).slice(0, 5);
    for (const loc of images) {
      const { body } = await api(`${loc}/images`);
      const items = (body as { items: Array<{ url: string; source_url: string }> }).items;
      expect(items).toHaveLength(3);
      for (const img of items) {
        expect(img.url).toMatch(/^\/media\/images\//);
        const file = await api(img.url);
        expect(file.status).toBe(200);
        expect(sha256(file.body as Buffer)).toBe(sha256(originals.get(img.source_url)!));
      }
    }
  }, 30 * MINUTE);

  it('keeps tasks and files across `compose down` and up again (named volumes)', async () => {
    const before = await Promise.all(locations.map(async (l) => (await api(l)).body as Task));
    const firstImages = locations.find((l) => l.startsWith('/images_tasks/'))!;
    const listing = ((await api(`${firstImages}/images`)).body as { items: Array<{ url: string; sha256: string }> }).items;

    await compose(['down'], 5 * MINUTE);
    expect(await containers('api').catch(() => [])).toEqual([]);
    await deploy();

    for (const [i, loc] of locations.entries()) {
      const { status, body } = await api(loc);
      expect(status).toBe(200);
      expect((body as Task).status).toBe(before[i]!.status);
    }
    for (const img of listing) {
      const file = await api(img.url);
      expect(file.status).toBe(200);
      expect(sha256(file.body as Buffer)).toBe(img.sha256);
    }
  }, 45 * MINUTE);

  it('runs the S3 variant (docker-compose.s3.yml, profile seaweedfs): new files go to the bucket, served through nginx', async () => {
    await compose(['down'], 5 * MINUTE);
    env.COMPOSE_FILE = [path.join(repoRoot, 'docker-compose.yml'), path.join(repoRoot, 'docker-compose.s3.yml'), overrideFile].join(path.delimiter);
    env.COMPOSE_PROFILES = 'seaweedfs';
    expect(env.S3_IMAGE).toMatch(/^scrapeds-local\/seaweedfs:/); // scripts/local-images.sh made it from the weed binary
    await deploy();
    await waitHealthy(['api healthy', 'api healthy', 'mongo healthy', 'nginx healthy', 'rabbitmq healthy', 's3 healthy', 'worker healthy', 'worker healthy']);

    const fresh: string[] = [];
    for (let n = 0; n < 6; n++) {
      const res = await fetch(`${base}/images_tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: site.url(`/q?n=${n}`) }) });
      expect(res.status).toBe(202);
      fresh.push(res.headers.get('location')!);
    }
    locations.push(...fresh);
    const tasks = await waitAllFinal(10 * MINUTE);
    expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);

    const [apiContainer] = await containers('api');
    for (const loc of fresh) {
      const items = ((await api(`${loc}/images`)).body as { items: Array<{ url: string; source_url: string }> }).items;
      expect(items).toHaveLength(2);
      for (const img of items) {
        // Not on the shared volume: nginx finds no file there and hands the request to the API, which reads the bucket.
        const onVolume = await docker(['exec', apiContainer!, 'test', '-e', `/data${img.url}`]).then(() => true, () => false);
        expect(onVolume).toBe(false);
        const file = await api(img.url);
        expect(file.status).toBe(200);
        expect(sha256(file.body as Buffer)).toBe(sha256(originals.get(img.source_url)!));
      }
    }
    expect(await logsOf(apiContainer!)).toContain('"blobs":"s3"');
  }, 30 * MINUTE);
});
