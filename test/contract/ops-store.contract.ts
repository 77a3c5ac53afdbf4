/**
 * The contract of the operator ports every task store carries (API keys, usage counters) and of task
 * ownership, run against every adapter. `open` gives an empty store; `cleanup` disposes of it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { TaskStore } from '../../src/models/task-store.js';

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');
const MIN = 60_000;
const dims = { key: '', ip: '', path: '', host: '' };

export function describeOpsStoreContract(name: string, open: () => Promise<TaskStore>, cleanup: (store: TaskStore) => Promise<void>): void {
  describe(`ops store contract: ${name}`, () => {
    let store: TaskStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await cleanup(store);
    });

    it('creates a key, finds it by hash only, lists and revokes it', async () => {
      const hash = hashOf(randomUUID());
      const key = await store.keys.createKey({ name: 'ci', scopes: ['read', 'write'], hash });
      expect(key).toEqual({ id: expect.any(String), name: 'ci', scopes: ['read', 'write'], createdAt: expect.any(String) });
      expect(await store.keys.findKeyByHash(hash)).toEqual(key);
      expect(await store.keys.findKeyByHash(hashOf('other'))).toBeNull();
      const second = await store.keys.createKey({ name: 'b', scopes: ['admin'], hash: hashOf(randomUUID()) });
      expect((await store.keys.listKeys()).map((k) => k.id)).toEqual([key.id, second.id]);

      expect(await store.keys.revokeKey(key.id)).toBe(true);
      const revoked = await store.keys.findKeyByHash(hash);
      expect(revoked?.revokedAt).toEqual(expect.any(String));
      expect(await store.keys.revokeKey(key.id)).toBe(true);
      expect((await store.keys.findKeyByHash(hash))?.revokedAt).toBe(revoked?.revokedAt); // the first time stays
      expect(await store.keys.revokeKey('no-such-key')).toBe(false);
    });

    it('refuses two keys with one hash', async () => {
      const hash = hashOf(randomUUID());
      await store.keys.createKey({ name: 'a', scopes: ['read'], hash });
      // Not rejects.toThrow(): the driver's error may come from another realm than jest's Error.
      const refused = await store.keys.createKey({ name: 'b', scopes: ['read'], hash }).then(() => undefined, (err: unknown) => err as { message?: string });
      expect(refused?.message).toMatch(/unique|duplicate/i);
      expect((await store.keys.listKeys()).map((k) => k.name)).toEqual(['a']);
    });

    it('keeps the owner of a task and lists one owner\'s tasks', async () => {
      const mine = await store.createTask({ kind: 'text', url: 'https://example.test/a', refresh: false, owner: 'k1' });
      const theirs = await store.createTask({ kind: 'text', url: 'https://example.test/b', refresh: false, owner: 'k2' });
      const nobody = await store.createTask({ kind: 'text', url: 'https://example.test/c', refresh: false });
      expect(mine.owner).toBe('k1');
      expect((await store.getTask(mine.id))?.owner).toBe('k1');
      expect((await store.getTask(nobody.id))?.owner).toBeUndefined();
      expect((await store.listTasks({ kind: 'text', limit: 10, owner: 'k1' })).items.map((t) => t.id)).toEqual([mine.id]);
      expect((await store.listTasks({ kind: 'text', limit: 10, owner: 'k2', status: 'queued' })).items.map((t) => t.id)).toEqual([theirs.id]);
      expect((await store.listTasks({ kind: 'text', limit: 10 })).items).toHaveLength(3);
      const first = await store.listTasks({ kind: 'text', limit: 1, owner: 'k1' });
      expect(first.nextCursor).toBeUndefined();
    });

    it('sums usage by interval and group, adding up repeated flushes of one source', async () => {
      const day = Date.UTC(2026, 0, 5);
      const h = 3_600_000;
      await store.usage.addUsage('p1', [
        { ...dims, minute: day + 5 * MIN, metric: 'requests', key: 'a', path: '/x', n: 2 },
        { ...dims, minute: day + 5 * MIN, metric: 'requests', key: 'b', path: '/x', n: 1 },
        { ...dims, minute: day + h + MIN, metric: 'requests', key: 'a', path: '/y', n: 4 },
      ]);
      await store.usage.addUsage('p1', [{ ...dims, minute: day + 5 * MIN, metric: 'requests', key: 'a', path: '/x', n: 3 }]);
      await store.usage.addUsage('p2', [
        { ...dims, minute: day + 5 * MIN, metric: 'requests', key: 'a', path: '/x', n: 10 },
        { ...dims, minute: day + 6 * MIN, metric: 'status_2xx', key: 'a', path: '/x', n: 7 },
        { ...dims, minute: day + 25 * h, metric: 'requests', key: 'a', path: '/x', n: 100 },
      ]);
      const range = { from: day, to: day + 24 * h };
      expect(await store.usage.queryUsage({ ...range, interval: 'day' })).toEqual([
        { bucket: day, group: '', metric: 'requests', n: 20 },
        { bucket: day, group: '', metric: 'status_2xx', n: 7 },
      ]);
      expect(await store.usage.queryUsage({ ...range, interval: 'hour', groupBy: 'key' })).toEqual([
        { bucket: day, group: 'a', metric: 'requests', n: 15 },
        { bucket: day, group: 'a', metric: 'status_2xx', n: 7 },
        { bucket: day, group: 'b', metric: 'requests', n: 1 },
        { bucket: day + h, group: 'a', metric: 'requests', n: 4 },
      ]);
      expect(await store.usage.queryUsage({ from: day + h, to: day + 2 * h, interval: 'minute', groupBy: 'path' })).toEqual([
        { bucket: day + h + MIN, group: '/y', metric: 'requests', n: 4 },
      ]);
      // One key's own counts only.
      expect(await store.usage.queryUsage({ ...range, interval: 'day', key: 'b' })).toEqual([
        { bucket: day, group: '', metric: 'requests', n: 1 },
      ]);
      expect(await store.usage.queryUsage({ ...range, interval: 'day', groupBy: 'path', key: 'a' })).toEqual([
        { bucket: day, group: '/x', metric: 'requests', n: 15 },
        { bucket: day, group: '/x', metric: 'status_2xx', n: 7 },
        { bucket: day, group: '/y', metric: 'requests', n: 4 },
      ]);
      expect(await store.usage.queryUsage({ ...range, interval: 'day', key: 'nobody' })).toEqual([]);
    });
  });
}
