/** Starts the real standalone service in-process on an ephemeral port with a temp DATA_DIR. */
import { pino, type Logger } from 'pino';
import request from 'supertest';
import { loadConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { tempDir } from './temp.js';

export { tempDir };

export interface TestService extends RunningService {
  url: string;
  dataDir: string;
}

/** `log` receives the service's log (silent unless TEST_LOG_LEVEL says otherwise), for tests that assert on it. */
export async function startTestService(env: Record<string, string> = {}, dataDir = tempDir(), log?: Logger): Promise<TestService> {
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    // The fixture site is on loopback: these tests opt out of the SSRF guard explicitly.
    ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'silent',
    // A worker thread cannot load the TypeScript sources jest runs; the threaded path is tested on dist/.
    PARSE_THREADS: '0',
    SHUTDOWN_GRACE_MS: '5000',
    ...env,
  });
  const service = await startService(config, log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  return { ...service, url: service.url as string, dataDir };
}

export interface SiteAndService {
  readonly site: FixtureSite;
  readonly svc: TestService;
}

/**
 * For a describe block: before all its tests, starts the fixture site, lets `prepare` set up its routes,
 * then starts the service with `env`; after them, stops both. Read `site` and `svc` inside hooks and tests.
 */
export function withSiteAndService(env: Record<string, string> = {}, prepare?: (site: FixtureSite) => void): SiteAndService {
  let site: FixtureSite | undefined;
  let svc: TestService | undefined;
  beforeAll(async () => {
    site = await startFixtureSite();
    prepare?.(site);
    svc = await startTestService(env);
  });
  afterAll(async () => {
    await svc?.close();
    await site?.close();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: read it inside a hook or test`);
    return value;
  };
  return {
    get site() {
      return started(site, 'the fixture site');
    },
    get svc() {
      return started(svc, 'the test service');
    },
  };
}

/** Polls a task until it is final; fails the test after `timeoutMs`. */
export async function waitForTask(baseUrl: string, location: string, timeoutMs = 20_000): Promise<Record<string, unknown> & { status: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(baseUrl).get(location).expect(200);
    if (res.body.status === 'succeeded' || res.body.status === 'failed') return res.body;
    if (Date.now() > deadline) throw new Error(`task ${location} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** POSTs a task and returns its Location after checking the 202 contract. */
export async function submit(baseUrl: string, kind: 'text' | 'images', url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await request(baseUrl).post(`/${kind}_tasks`).send({ url, ...extra }).expect(202);
  const location = res.headers.location as string;
  if (!location || res.body.status !== 'queued' || location !== `/${kind}_tasks/${res.body.id}`) {
    throw new Error(`unexpected 202: ${JSON.stringify({ location, body: res.body })}`);
  }
  return location;
}
