/** Runs the built service (`node dist/main.js`, what `npm start` runs) as a child process and reads its JSON logs. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface ServiceProcess {
  child: ChildProcess;
  /** Every log line so far, parsed. */
  lines: Array<Record<string, unknown>>;
  /** Resolves once the process logs `readyMsg`; with the API, to its URL. */
  ready: Promise<string | undefined>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** ./test.sh exports the service URLs for the suites; a child gets only the configuration its test gives. */
const INHERITED_CONFIG = ['MONGO_URL', 'AMQP_URL', 'ROLE', 'QUEUE_NAME', 'DATA_DIR', 'PORT', 'PUBLIC_MEDIA_URL', 'PROXY_URLS'];

/** The parent's environment without the service configuration ./test.sh exports. */
export function standaloneEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_CONFIG.includes(k)));
}

const running = new Set<ServiceProcess>();

/** Kills every service process a test started and has not stopped (call in afterAll; a failed test must not leave one behind). */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}

export function spawnService(env: Record<string, string>, readyMsg = 'listening'): ServiceProcess {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: repoRoot,
    env: { ...standaloneEnv(), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string | undefined>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`service exited with ${code} before "${readyMsg}": ${stderr.slice(-2000)}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line, unparsed: true };
      }
      lines.push(entry);
      if (entry.msg === readyMsg) resolve(entry.url as string | undefined);
    });
  });
  ready.catch(() => {}); // observed by callers; avoid an unhandled rejection when nobody waits
  const service: ServiceProcess = {
    child,
    lines,
    ready,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(service);
  void exited.then(() => running.delete(service));
  return service;
}

/**
 * For a describe block of tests that spawn the built service (dist/, which jest's globalSetup keeps fresh): starts
 * the fixture site before all its tests; after them, kills any service process left running and stops the site.
 */
export function withBuiltServiceAndSite(): { readonly site: FixtureSite } {
  let site: FixtureSite | undefined;
  beforeAll(async () => {
    site = await startFixtureSite();
  });
  afterAll(async () => {
    await stopAllServices();
    await site?.close();
  });
  return {
    get site() {
      if (!site) throw new Error('the fixture site is not started: read it inside a hook or test');
      return site;
    },
  };
}
