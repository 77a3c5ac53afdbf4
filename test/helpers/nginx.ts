/**
 * Runs the repo's own nginx/nginx.conf.template natively (the file docker compose renders too), as the
 * current user, in the foreground, with every path it writes under a temp dir.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isCI } from './services.js';
import { tempDir } from './temp.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export const NGINX_TEMPLATE = fileURLToPath(new URL('../../nginx/nginx.conf.template', import.meta.url));

/** The nginx binary: $NGINX_BIN (scripts/services.sh writes it), else PATH, else Debian's /usr/sbin/nginx. */
export function findNginx(): string | undefined {
  const candidates = [process.env.NGINX_BIN, ...(process.env.PATH ?? '').split(path.delimiter).map((d) => d && path.join(d, 'nginx')), '/usr/sbin/nginx'];
  for (const file of candidates) {
    if (!file) continue;
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export const missingNginxMessage = 'nginx not installed: run scripts/services.sh install (Debian package nginx), or set NGINX_BIN';

/** Like describeWithService: under CI a missing nginx is a failing test; outside CI the suite is skipped, saying why. */
export function describeWithNginx(name: string, body: (nginx: string) => void): void {
  const nginx = findNginx();
  if (!nginx && isCI()) {
    describe(name, () => {
      it('needs nginx', () => {
        throw new Error(missingNginxMessage);
      });
    });
    return;
  }
  if (!nginx) console.warn(`Skipping "${name}": ${missingNginxMessage} (outside CI only; with CI=true this fails).`);
  (nginx ? describe : describe.skip)(name, () => body(nginx ?? ''));
}

/** Fills the template's ${NGINX_*} placeholders; refuses unknown or missing ones, like a typo would deserve. */
export function renderNginxConf(template: string, vars: Record<string, string>): string {
  const used = new Set<string>();
  const out = template.replace(/\$\{(NGINX_[A-Z0-9_]+)\}/g, (whole, name: string, offset: number) => {
    // Placeholders named in comments stay as they are.
    const lineStart = template.lastIndexOf('\n', offset) + 1;
    if (template.slice(lineStart, offset).trimStart().startsWith('#')) return whole;
    const value = vars[name];
    if (value === undefined) throw new Error(`nginx template: no value for ${name}`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(vars).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`nginx template: not a placeholder: ${unused.join(', ')}`);
  return out;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const readText = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

function mimeTypesFor(nginx: string): Promise<string> {
  if (fs.existsSync('/etc/nginx/mime.types')) return Promise.resolve('/etc/nginx/mime.types');
  // Elsewhere (a source build under /usr/local/nginx, say), mime.types sits beside the compiled-in nginx.conf.
  return run(nginx, ['-V']).then(({ stdout, stderr }) => {
    const conf = /--conf-path=(\S+)/.exec(stdout + stderr)?.[1] ?? '/usr/local/nginx/conf/nginx.conf';
    return path.join(path.dirname(conf), 'mime.types');
  });
}

export interface StartNginxOptions {
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** The API's DATA_DIR/media: must be named `media`, as the template serves DATA_DIR + /media/…. */
  mediaRoot: string;
  /** host:port of each API replica. */
  upstreams: string[];
  /** A /media/ file not in mediaRoot goes to the API (BLOB_STORE=s3) instead of a 404. */
  mediaFromApi?: boolean;
}

export interface RunningNginx {
  url: string;
  port: number;
  /** The rendered config, logs (access.log is JSON lines, error.log) and temp files. */
  dir: string;
  accessLog(): string;
  errorLog(): string;
  close(): Promise<void>;
}

export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  const nginx = findNginx();
  if (!nginx) throw new Error(missingNginxMessage);
  const mediaRoot = path.resolve(options.mediaRoot);
  if (path.basename(mediaRoot) !== 'media') throw new Error(`startNginx: mediaRoot must be DATA_DIR/media, got ${mediaRoot}`);
  if (!options.upstreams.length) throw new Error('startNginx: no upstreams');

  const template = fs.readFileSync(NGINX_TEMPLATE, 'utf8');
  const mimeTypes = await mimeTypesFor(nginx);
  const user = process.getuid?.() === 0 ? 'root' : os.userInfo().username;
  let lastError = '';
  // A free port found now can be taken before nginx binds it: try again with another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = tempDir('scrapeds-nginx-');
    const conf = path.join(dir, 'nginx.conf');
    const errorLog = path.join(dir, 'error.log');
    const accessLog = path.join(dir, 'access.log');
    fs.writeFileSync(
      conf,
      renderNginxConf(template, {
        NGINX_USER: user,
        NGINX_LISTEN: `127.0.0.1:${port}`,
        NGINX_STATE_DIR: dir,
        NGINX_ERROR_LOG: errorLog,
        NGINX_ACCESS_LOG: accessLog,
        NGINX_MIME_TYPES: mimeTypes,
        NGINX_DATA_DIR: path.dirname(mediaRoot),
        NGINX_API_UPSTREAMS: options.upstreams.map((u) => `server ${u};`).join(' '),
        NGINX_API_BACKEND: 'http://api',
        NGINX_RESOLVER: '',
        NGINX_MEDIA_FALLBACK: options.mediaFromApi ? '@api' : '=404',
      }),
    );
    // -e: the compiled-in error log (/var/log/nginx/error.log) is opened before the config is read.
    const args = ['-p', dir, '-e', errorLog, '-c', conf];
    try {
      await run(nginx, [...args, '-t', '-q']);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`nginx -t rejected ${conf}:\n${e.stderr || e.message}`);
    }
    const child = spawn(nginx, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));

    const deadline = Date.now() + 10_000;
    while (exitCode === undefined && Date.now() < deadline && !(await portAnswers(port))) await new Promise((r) => setTimeout(r, 25));

    if (exitCode === undefined && Date.now() < deadline) {
      let closing: Promise<void> | undefined;
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        dir,
        accessLog: () => readText(accessLog),
        errorLog: () => readText(errorLog),
        close: () =>
          (closing ??= (async () => {
            // TERM is nginx's fast shutdown; KILL if it hangs, so a test run never leaves one behind.
            if (exitCode === undefined) child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(timer);
            fs.rmSync(dir, { recursive: true, force: true });
          })()),
      };
    }
    if (exitCode === undefined) child.kill('SIGKILL');
    await exited;
    lastError = `${stderr}${readText(errorLog)}`.trim() || `not listening on 127.0.0.1:${port} after 10 s`;
    fs.rmSync(dir, { recursive: true, force: true });
    if (options.port !== undefined || !/Address already in use/.test(lastError)) break;
  }
  throw new Error(`nginx did not start:\n${lastError}`);
}
