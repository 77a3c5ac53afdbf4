/**
 * A small tmpfs mounted by the test, to fill a disk for real. Mounting needs root: outside CI a suite
 * run without it is skipped with the reason; under CI=true a failure to mount fails the suite.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isCI } from './services.js';
import { tempDir } from './temp.js';

export interface Tmpfs {
  readonly dir: string;
  /** Fills the file system with a ballast file, leaving `slackBytes` free (rounded to pages). */
  fill(slackBytes?: number): void;
  /** Deletes the ballast: room again. */
  free(): void;
  unmount(): void;
}

const BALLAST = '.ballast';

function mount(sizeBytes: number): Tmpfs {
  const dir = tempDir('scrapeds-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0777`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)}`);
  }
  const ballast = path.join(dir, BALLAST);
  return {
    dir,
    fill(slackBytes = 0) {
      const fd = fs.openSync(ballast, 'a');
      try {
        // Big chunks first, then single pages: tmpfs allocates by page.
        for (const chunk of [Buffer.alloc(1 << 20, 1), Buffer.alloc(4096, 1)]) {
          for (;;) {
            try {
              fs.writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
        if (slackBytes > 0) fs.ftruncateSync(fd, Math.max(0, fs.fstatSync(fd).size - slackBytes));
      } finally {
        fs.closeSync(fd);
      }
    },
    free() {
      fs.rmSync(ballast, { force: true });
    },
    unmount() {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `describe(name, …)` with a tmpfs of `sizeBytes` mounted before all its tests and unmounted after them.
 * Read `tmpfs()` inside hooks and tests.
 */
export function describeWithTmpfs(name: string, sizeBytes: number, body: (tmpfs: () => Tmpfs) => void): void {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'mounting a tmpfs needs root';
  if (reason && !isCI()) {
    console.warn(`Skipping "${name}": ${reason} (outside CI only; with CI=true this fails).`);
    describe.skip(name, () => body(() => {
      throw new Error(reason);
    }));
    return;
  }
  describe(name, () => {
    let mounted: Tmpfs | undefined;
    beforeAll(() => {
      if (reason) throw new Error(reason);
      mounted = mount(sizeBytes);
    });
    afterAll(() => {
      mounted?.unmount();
    });
    body(() => {
      if (!mounted) throw new Error('the tmpfs is not mounted: read it inside a hook or test');
      return mounted;
    });
  });
}
