/**
 * A Docker engine for the compose test: the one that answers, else a `dockerd` this process starts (as root)
 * and stops again. Under CI a missing docker is a failing test, elsewhere a skipped one (as describeWithService).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isCI } from './services.js';
import { tempDir } from './temp.js';

const run = promisify(execFile);

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

const engineAnswers = async (): Promise<boolean> =>
  run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 }).then(
    () => true,
    () => false,
  );

/** Why the compose test cannot run here, or undefined when it can. */
export function dockerMissing(): string | undefined {
  if (!onPath('docker')) return 'docker is not installed (apt-get install docker.io)';
  if (!onPath('dockerd') && !fs.existsSync('/var/run/docker.sock')) return 'no dockerd and no Docker engine socket (apt-get install docker.io)';
  if (!fs.existsSync('/var/run/docker.sock') && process.getuid?.() !== 0) return 'no Docker engine runs, and only root may start dockerd';
  return undefined;
}

export function describeWithDocker(name: string, body: () => void): void {
  const missing = dockerMissing();
  if (missing && isCI()) {
    describe(name, () => {
      it('needs Docker', () => {
        throw new Error(missing);
      });
    });
    return;
  }
  if (missing) console.warn(`Skipping "${name}": ${missing} (outside CI only; with CI=true this fails).`);
  (missing ? describe.skip : describe)(name, body);
}

export interface DockerEngine {
  /** Stops dockerd if this process started it; leaves an engine it found alone. */
  stop(): Promise<void>;
}

export async function ensureDockerEngine(timeoutMs = 60_000): Promise<DockerEngine> {
  if (await engineAnswers()) return { stop: async () => undefined };
  const dir = tempDir('scrapeds-dockerd-');
  const logFile = path.join(dir, 'dockerd.log');
  const log = fs.openSync(logFile, 'a');
  // The default data root, so images built here (scripts/local-images.sh, the app image) stay cached between runs.
  const child: ChildProcess = spawn(onPath('dockerd') ?? 'dockerd', ['--pidfile', path.join(dir, 'dockerd.pid')], { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + timeoutMs;
  while (!(await engineAnswers())) {
    if (exitCode !== undefined || Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`dockerd did not come up (exit ${exitCode}):\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    stop: async () => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM'); // dockerd stops its containers (10 s grace each, in parallel) and exits
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Takes down compose projects named `${prefix}…` whose containers were all created more than `olderThanMs` ago:
 * what a killed test run (SIGKILL, no afterAll) left running. Younger projects may be another run's, so they stay.
 */
export async function removeStaleProjects(prefix: string, olderThanMs: number, now = Date.now()): Promise<string[]> {
  const { stdout } = await run('docker', ['ps', '-a', '--filter', 'label=com.docker.compose.project', '--format', '{{.Label "com.docker.compose.project"}}\t{{.CreatedAt}}'], { timeout: 60_000 });
  const newest = new Map<string, number>();
  for (const line of stdout.trim().split('\n').filter(Boolean)) {
    const [project, created] = line.split('\t') as [string, string];
    if (!project.startsWith(prefix)) continue;
    // "2026-11-26 18:01:02 +0000 UTC": the zone name after the offset is redundant for Date.
    const at = Date.parse(created.replace(/ [A-Z]+$/, '').replace(' ', 'T').replace(' ', ''));
    newest.set(project, Math.max(newest.get(project) ?? 0, Number.isNaN(at) ? now : at));
  }
  const stale = [...newest].filter(([, at]) => now - at > olderThanMs).map(([project]) => project);
  // By label rather than `compose down`: that needs the run's override file, which went with its temp dir.
  const ids = async (kind: string, project: string) =>
    (await run('docker', [kind, 'ls', '-q', ...(kind === 'container' ? ['-a'] : []), '--filter', `label=com.docker.compose.project=${project}`])).stdout.split('\n').filter(Boolean);
  for (const project of stale) {
    for (const kind of ['container', 'volume', 'network']) {
      const found = await ids(kind, project);
      if (found.length) await run('docker', [kind, 'rm', ...(kind === 'container' ? ['-f'] : []), ...found], { timeout: 5 * 60_000 }).catch(() => undefined);
    }
    await run('docker', ['network', 'rm', `${project}-internal`], { timeout: 60_000 }).catch(() => undefined);
  }
  return stale;
}
