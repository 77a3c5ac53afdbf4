/** Child processes and what they cost: CPU seconds and peak RSS read from /proc, JSON-line protocol, ports. */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of a live process, in seconds. */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** cutime + cstime of a live process: what its children that exited (and were waited for) spent, in seconds. */
function reapedCpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/**
 * utime + stime of a live process and its children, live or exited (e.g. a PostgreSQL postmaster and its
 * backends, which come and go with FerretDB's connections), in seconds: never decreasing.
 */
export function treeCpuSeconds(pid) {
  let total = cpuSeconds(pid) + reapedCpuSeconds(pid);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) total += cpuSeconds(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** CPU seconds of the PostgreSQL cluster scripts/services.sh runs in servicesDir (0 when there is none). */
export function postgresCpuSeconds(servicesDir) {
  let pid;
  try {
    pid = Number(fs.readFileSync(`${servicesDir}/postgres/data/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return 0; // no PostgreSQL (SQLite backend), or its pid file unreadable to a non-owner
  }
  return fs.existsSync(`/proc/${pid}`) ? treeCpuSeconds(pid) : 0;
}

/** Peak resident set (VmHWM) of a live process, in bytes. */
export function peakRss(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const children = new Set();
/** Children still running when the harness exits (a crash, a failed section) are killed with it. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/**
 * TCP ports a process listens on, from /proc: its socket inodes matched against /proc/net/tcp{,6} LISTEN rows.
 * Lets a service bind port 0 itself, with no window for another process to take a port picked in advance.
 */
export function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` returns a truthy value, polling; throws after `timeoutMs`. */
export async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Resolves when a JSON-lines log file has a line whose msg is `msg`. */
export function waitForLog(file, msg, child, timeoutMs = 60_000) {
  return until(async () => {
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before "${msg}"; see ${file}`);
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    return text.includes(`"msg":"${msg}"`);
  }, timeoutMs, `"${msg}" in ${file}`);
}

/**
 * Runs a benchmark runner that speaks the harness protocol on stdout/stdin:
 * it prints {"ready":true} after setting up, starts on a "go" line, prints {"result":{…}} when done and
 * exits when its stdin closes. CPU is read from /proc between ready and result, so start-up is not counted.
 */
export function runRunner(cmd, args, { env = {}, cwd, timeoutMs = 600_000, logFile } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', logFile ? fs.openSync(logFile, 'w') : 'inherit'] }));
    let cpu0 = 0;
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`${args.join(' ')} did not finish within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdin.end();
      if (err) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(value);
    };
    child.once('exit', (code) => finish(new Error(`${args.join(' ')} exited with ${code} before its result${logFile ? `; see ${logFile}` : ''}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // a library talking on stdout
      }
      if (msg.ready) {
        cpu0 = cpuSeconds(child.pid);
        child.stdin.write('go\n');
      } else if (msg.result) {
        finish(undefined, { ...msg.result, cpuSeconds: cpuSeconds(child.pid) - cpu0, peakRss: peakRss(child.pid) });
      }
    });
  });
}

/** For runner scripts: announce readiness, wait for "go". */
export function readyAndWaitForGo() {
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', () => resolve());
  });
}

/** For runner scripts: report, then stay alive until the harness has read /proc and closes stdin. */
export function reportAndExitWhenReleased(result) {
  process.stdout.write(JSON.stringify({ result }) + '\n');
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
  process.stdin.once('close', () => process.exit(0));
}

/** Files under a directory, recursively (dotfiles, i.e. temp files, excluded). */
export function countFiles(dir) {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && !d.name.startsWith('.')).length;
}
