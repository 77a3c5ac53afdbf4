/**
 * The finished tasks of a batch, in submission order, each with what it produced (text or image list),
 * read page by page from the store: memory stays flat however large the batch.
 */
import { encodePositionCursor } from '../models/ids.js';
import type { TaskStore } from '../models/task-store.js';
import type { Task, TaskImage } from '../models/task.js';

export interface BatchRecord {
  task: Task;
  /** Opaque; resumes the sequence after this record. */
  cursor: string;
  /** Text tasks that succeeded. */
  text?: string;
  /** Images tasks: every image of the page, in order of discovery. */
  images?: TaskImage[];
}

const TASKS_PER_PAGE = 200;
const IMAGES_PER_PAGE = 1000;

async function imagesOf(store: TaskStore, taskId: string): Promise<TaskImage[]> {
  const out: TaskImage[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listTaskImages(taskId, { limit: IMAGES_PER_PAGE, cursor });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Starts after `cursor` (a record's cursor, or a page cursor of GET /batches/:id/tasks). */
export async function* batchRecords(store: TaskStore, batchId: string, cursor?: string): AsyncGenerator<BatchRecord> {
  let after = cursor;
  for (;;) {
    const page = await store.batches.listBatchTasks(batchId, { status: 'finished', limit: TASKS_PER_PAGE, cursor: after });
    // The page's texts and image lists are read together; the next page only once these are consumed.
    const records = await Promise.all(page.items.map(async (task): Promise<BatchRecord> => {
      const rec: BatchRecord = { task, cursor: encodePositionCursor(task.batchSeq ?? 0) };
      if (task.kind === 'text' && task.status === 'succeeded') rec.text = (await store.getText(task.id)) ?? undefined;
      if (task.kind === 'images') rec.images = await imagesOf(store, task.id);
      return rec;
    }));
    yield* records;
    if (!page.nextCursor) return;
    after = page.nextCursor;
  }
}
