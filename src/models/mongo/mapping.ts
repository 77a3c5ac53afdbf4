/** Documents → domain objects: Dates become ISO strings, absent fields stay absent. */
import type { ImageCounts, ImageOutcome, ImageRecord, Task, TaskImage } from '../task.js';
import type { ImageDoc } from './image-model.js';
import type { TaskImageDoc } from './task-image-model.js';
import type { TaskDoc } from './task-model.js';

const iso = (d: Date | string): string => new Date(d).toISOString();

export function emptyCounts(): ImageCounts {
  return { found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 };
}

export function addCount(counts: ImageCounts, outcome: ImageOutcome, n: number): void {
  counts[outcome] += n;
  counts.found += n;
}

export function toTask(d: TaskDoc, counts?: ImageCounts): Task {
  const task: Task = {
    id: d._id, kind: d.kind, url: d.url, status: d.status, refresh: d.refresh, attempts: d.attempts,
    createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt),
  };
  if (d.format) task.format = d.format;
  if (d.startedAt) task.startedAt = iso(d.startedAt);
  if (d.finishedAt) task.finishedAt = iso(d.finishedAt);
  if (d.error) task.error = d.error;
  if (d.page) task.page = d.page;
  if (d.options) task.options = d.options;
  if (d.kind === 'images') task.counts = counts ?? emptyCounts();
  if (d.owner) task.owner = d.owner;
  return task;
}

export function toImage(d: ImageDoc): ImageRecord {
  const image: ImageRecord = { id: d._id, sourceUrl: d.sourceUrl, status: d.status, updatedAt: iso(d.updatedAt) };
  if (d.ownerTaskId !== undefined && d.ownerTaskId !== null) image.ownerTaskId = d.ownerTaskId;
  if (d.claimedAt) image.claimedAt = iso(d.claimedAt);
  if (d.file) image.file = d.file;
  if (d.error) image.error = d.error;
  return image;
}

/** `image` is the linked image record, for its file (left out for a failed outcome). */
export function toTaskImage(d: TaskImageDoc, image: ImageDoc | undefined): TaskImage {
  const link: TaskImage = {
    taskId: d.taskId, position: d.position, sourceUrl: d.sourceUrl, imageId: d.imageId, outcome: d.outcome,
  };
  if (d.error) link.error = d.error;
  if ((d.outcome === 'stored' || d.outcome === 'reused') && image?.file) link.file = image.file;
  if (d.details) link.details = d.details;
  return link;
}
