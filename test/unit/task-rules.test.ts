import { ATTEMPTS_EXHAUSTED } from '../../src/models/task-lease-rules.js';
import {
  applyImagePatch, claimResult, decideClaim, decideCompletion, decideFinish, decideImageRelease, foldCounts, imageIdFor, mayHaveLinks, newImageClaim,
} from '../../src/models/task-rules.js';
import type { ImageRecord, Task } from '../../src/models/task.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const file = { sha256: 'a'.repeat(64), key: 'images/aa/a.png', mime: 'image/png', bytes: 1 };
const image = (over: Partial<ImageRecord> = {}): ImageRecord => ({ id: 'i', sourceUrl: 'https://e.test/a.png', status: 'pending', updatedAt: at(0), ...over });
const request = { taskId: 't1', staleAfterMs: 1000 };

describe('image claim rules', () => {
  it('derives the id from the URL and starts a new image pending under the claimer', () => {
    const fresh = newImageClaim('https://e.test/a.png', request, T0);
    expect(fresh).toEqual({ id: imageIdFor('https://e.test/a.png'), sourceUrl: 'https://e.test/a.png', status: 'pending', ownerTaskId: 't1', claimedAt: at(0), updatedAt: at(0) });
    expect(imageIdFor('https://e.test/a.png')).not.toBe(imageIdFor('https://e.test/b.png'));
    expect(claimResult(fresh, true).outcome).toBe('claimed');
  });

  it('takes a failed image, its own claim, a released claim and a stale one; joins a live claim of another', () => {
    const now = T0 + 5000;
    expect(decideClaim(image({ status: 'failed', error: { code: 'x', message: 'y' } }), request, now)).toEqual({ status: 'pending', ownerTaskId: 't1', claimedAt: at(5000), error: null, updatedAt: at(5000) });
    expect(decideClaim(image({ ownerTaskId: 't1', claimedAt: at(4900) }), request, now)).not.toBeNull();
    expect(decideClaim(image({}), request, now)).not.toBeNull();
    expect(decideClaim(image({ ownerTaskId: 't2', claimedAt: at(3999) }), request, now)).not.toBeNull();
    const live = image({ ownerTaskId: 't2', claimedAt: at(4001) });
    expect(decideClaim(live, request, now)).toBeNull();
    expect(claimResult(live, false).outcome).toBe('in_progress');
  });

  it('reuses a stored image unless it was stored before the refresh time', () => {
    const stored = image({ status: 'stored', file, updatedAt: at(100) });
    expect(decideClaim(stored, request, T0 + 200)).toBeNull();
    expect(claimResult(stored, false).outcome).toBe('stored');
    expect(decideClaim(stored, { ...request, refreshStoredBefore: at(100) }, T0 + 200)).toBeNull();
    expect(decideClaim(stored, { ...request, refreshStoredBefore: at(101) }, T0 + 200)).not.toBeNull();
  });
});

describe('image completion and release', () => {
  const claimed = image({ ownerTaskId: 't1', claimedAt: at(0), file: { ...file, sha256: 'b'.repeat(64) } });

  it('lets only the owner of a pending claim complete it; a failure keeps an earlier file', () => {
    expect(decideCompletion(claimed, 't2', { status: 'stored', file }, T0)).toBeNull();
    expect(decideCompletion(image({ status: 'stored', file }), 't1', { status: 'stored', file }, T0)).toBeNull();
    const stored = applyImagePatch(claimed, decideCompletion(claimed, 't1', { status: 'stored', file }, T0 + 1)!);
    expect(stored).toEqual({ id: 'i', sourceUrl: claimed.sourceUrl, status: 'stored', file, updatedAt: at(1) });
    const error = { code: 'timeout', message: 't' };
    const failed = applyImagePatch(claimed, decideCompletion(claimed, 't1', { status: 'failed', error }, T0 + 1)!);
    expect(failed).toEqual({ id: 'i', sourceUrl: claimed.sourceUrl, status: 'failed', error, file: claimed.file, updatedAt: at(1) });
  });

  it('releases the owner\'s pending claim to nobody, and nothing else', () => {
    expect(applyImagePatch(claimed, decideImageRelease(claimed, 't1', T0 + 2)!)).toEqual({ ...claimed, ownerTaskId: undefined, claimedAt: undefined, updatedAt: at(2) } as unknown as ImageRecord);
    expect(decideImageRelease(claimed, 't2', T0)).toBeNull();
    expect(decideImageRelease(image({ status: 'stored', file }), 't1', T0)).toBeNull();
  });
});

describe('finishing a task', () => {
  const task: Task = { id: 't', kind: 'text', url: 'u', status: 'running', refresh: false, attempts: 1, createdAt: at(0), updatedAt: at(0), lease: { owner: 'w1', until: at(60_000) }, dispatchPendingSince: at(0) };

  it('writes the final state, drops the lease and the dispatch clock, keeps the page when none is given', () => {
    expect(decideFinish(task, { status: 'succeeded' }, 'w1', T0 + 5)).toEqual({ status: 'succeeded', finishedAt: at(5), updatedAt: at(5), error: null, lease: null, dispatchPendingSince: null });
    const page = { finalUrl: 'u', httpStatus: 200, bytes: 3 };
    expect(decideFinish(task, { status: 'failed', page, error: { code: ATTEMPTS_EXHAUSTED, message: 'm' } }, undefined, T0)).toMatchObject({ page, error: { code: ATTEMPTS_EXHAUSTED } });
  });

  it('refuses a final task and a task another worker took over', () => {
    expect(decideFinish({ ...task, status: 'failed' }, { status: 'succeeded' }, undefined, T0)).toBeNull();
    expect(decideFinish(task, { status: 'succeeded' }, 'w2', T0)).toBeNull();
  });
});

describe('count folding', () => {
  it('sums outcomes per task, with found as their total', () => {
    const counts = foldCounts([
      { taskId: 'a', outcome: 'stored', n: 2 }, { taskId: 'a', outcome: 'skipped', n: 1 }, { taskId: 'b', outcome: 'failed', n: 4 },
    ]);
    expect(counts.get('a')).toEqual({ found: 3, stored: 2, reused: 0, failed: 0, skipped: 1 });
    expect(counts.get('b')).toEqual({ found: 4, stored: 0, reused: 0, failed: 4, skipped: 0 });
    expect(counts.get('c')).toBeUndefined();
  });
});

describe('which tasks have links to count', () => {
  it('counts only an images task that has run: links are written by runs, and each run counts an attempt', () => {
    expect(mayHaveLinks({ kind: 'images', attempts: 0 })).toBe(false);
    expect(mayHaveLinks({ kind: 'images', attempts: 1 })).toBe(true);
    expect(mayHaveLinks({ kind: 'text', attempts: 3 })).toBe(false);
  });
});
