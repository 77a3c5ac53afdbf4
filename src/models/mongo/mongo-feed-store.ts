/** FeedStore on MongoDB: the in-process queue's backlog, marked on the task documents through revision tickets. */
import type { BatchJob } from '../batch.js';
import type { FeedStore } from '../feed-store.js';
import type { Models } from './models.js';
import type { Revisions } from './revision.js';
import type { TaskDoc } from './task-model.js';

const UNFINISHED = { $in: ['queued', 'running'] };

export class MongoFeedStore implements FeedStore {
  constructor(private readonly m: Models, private readonly revisions: Revisions) {}

  async takeWaiting(limit: number): Promise<BatchJob[]> {
    const docs = await this.m.tasks.find({ dispatchPendingSince: { $exists: true }, status: UNFINISHED })
      .sort({ dispatchPendingSince: 1, _id: 1 }).limit(limit).lean<TaskDoc[]>().exec();
    const taken: BatchJob[] = [];
    for (const d of docs) {
      // Through a revision ticket: of two feeders seeing this task, one takes it.
      const res = await this.revisions.update('tasks', this.m.tasks, d._id, (t) =>
        t.dispatchPendingSince && (t.status === 'queued' || t.status === 'running') ? { set: { updatedAt: t.updatedAt }, unset: ['dispatchPendingSince'] } : null);
      if (res?.changed) taken.push({ taskId: d._id, kind: d.kind });
    }
    return taken;
  }

  async markWaiting(taskIds: readonly string[]): Promise<void> {
    for (const id of taskIds) await this.mark(id, new Date());
  }

  async markUnfinishedWaiting(): Promise<number> {
    const docs = await this.m.tasks.find({ status: UNFINISHED, dispatchPendingSince: { $exists: false } }, { _id: 1 }).lean<TaskDoc[]>().exec();
    const now = new Date();
    let n = 0;
    for (const d of docs) if (await this.mark(d._id, now)) n++;
    return n;
  }

  private async mark(id: string, now: Date): Promise<boolean> {
    const res = await this.revisions.update('tasks', this.m.tasks, id, (t) =>
      (t.status === 'queued' || t.status === 'running') && !t.dispatchPendingSince ? { set: { dispatchPendingSince: now } } : null);
    return res?.changed ?? false;
  }
}
