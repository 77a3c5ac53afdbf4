/** Runs the `scrapeds` CLI (bin/scrapeds.js, on the built dist/) as a child process. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot, standaloneEnv } from './processes.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const cliBin = path.join(repoRoot, 'bin/scrapeds.js');

/** Resolves when the CLI exits (never rejects: tests look at the exit code). `input` goes to its stdin. */
export function runCli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: repoRoot,
      env: { ...standaloneEnv(), SCRAPEDS_API: '', SCRAPEDS_API_KEY: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
