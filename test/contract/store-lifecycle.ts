/** The lifecycle every store contract shares: a fresh store before each test, closed (or cleaned up) after it. */
import type { TaskStore } from '../../src/models/task-store.js';

export function eachStore(open: () => Promise<TaskStore>, cleanup: ((store: TaskStore) => Promise<void>) | undefined, use: (store: TaskStore) => void): void {
  let store: TaskStore;
  beforeEach(async () => {
    store = await open();
    use(store);
  });
  afterEach(async () => {
    if (cleanup) await cleanup(store);
    else await store.close();
  });
}
