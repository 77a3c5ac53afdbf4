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

/** Starts after `cursor` (a record's cursor, or a page cursor of GET /batches/:id/tasks). */
export async function* batchRecords(store: TaskStore, batchId: string, cursor?: string): AsyncGenerator<BatchRecord> {
  let after = cursor;
  for (;;) {
    const page = await store.batches.listBatchTasks(batchId, { status: 'finished', limit: TASKS_PER_PAGE, cursor: after });
    // The page's texts and image lists are read together (the image lists in one query); the next page
    // only once these are consumed.
    const imageTasks = page.items.filter((t) => t.kind === 'images').map((t) => t.id);
    const [images, records] = await Promise.all([
      imageTasks.length > 0 ? store.listImagesOfTasks(imageTasks) : new Map<string, TaskImage[]>(),
      Promise.all(page.items.map(async (task): Promise<BatchRecord> => {
        const rec: BatchRecord = { task, cursor: encodePositionCursor(task.batchSeq ?? 0) };
        if (task.kind === 'text' && task.status === 'succeeded') rec.text = (await store.getText(task.id)) ?? undefined;
        return rec;
      })),
    ]);
    for (const rec of records) if (rec.task.kind === 'images') rec.images = images.get(rec.task.id) ?? [];
    yield* records;
    if (!page.nextCursor) return;
    after = page.nextCursor;
  }
}
