/** A FerretDB of the test's own (the SQLite backend, data in a directory it chooses), for tests that need its files. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { tempDir } from './temp.js';
import { freePort } from './free-port.js';

export interface FerretDb {
  url: string;
  stop(): Promise<void>;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket.end() && true));
    socket.once('error', () => resolve(false));
  });
}

/** Starts `bin` (flags as scripts/services.sh ferretdb_start) with its SQLite files in `dataDir`. */
export async function startFerretDb(bin: string, dataDir: string): Promise<FerretDb> {
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(bin, [
    '--handler=sqlite', `--sqlite-url=file:${dataDir}/`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${tempDir('ferretdb-state-')}`,
    '--debug-addr=-', '--telemetry=disable', '--log-level=warn', '--log-format=text',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ferretdb did not start on port ${port}: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `mongodb://127.0.0.1:${port}/scrapeds_full_disk`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
