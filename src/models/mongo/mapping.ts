/** Documents → domain objects: Dates become ISO strings, absent fields stay absent. */
import type { ImageCounts, ImageRecord, Task, TaskImage } from '../task.js';
import { emptyCounts } from '../task-rules.js';
import type { TaskPatch } from '../task-lease-rules.js';
import type { ImagePatch } from '../task-rules.js';
import type { ImageDoc } from './image-model.js';
import type { Change } from './revision.js';
import type { TaskImageDoc } from './task-image-model.js';
import type { TaskDoc } from './task-model.js';

const iso = (d: Date | string): string => new Date(d).toISOString();

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
  if (d.leaseOwner && d.leaseUntil) task.lease = { owner: d.leaseOwner, until: iso(d.leaseUntil) };
  if (d.dispatchPendingSince) task.dispatchPendingSince = iso(d.dispatchPendingSince);
  if (d.kind === 'images') task.counts = counts ?? emptyCounts();
  if (d.batchId) {
    task.batchId = d.batchId;
    task.batchSeq = d.batchSeq ?? 0;
  }
  if (d.owner) task.owner = d.owner;
  if (d.webhook !== undefined) task.hasWebhook = d.webhook;
  return task;
}

/** A TaskPatch (ISO strings, null = remove) as a revision Change on a task document. */
export function taskChange(patch: TaskPatch): Change {
  const change: Change = { set: {}, unset: [] };
  const unset = change.unset as string[];
  const put = (field: string, value: unknown) => (value === null ? unset.push(field) : (change.set[field] = value));
  for (const [key, value] of Object.entries(patch) as Array<[keyof TaskPatch, unknown]>) {
    if (value === undefined) continue;
    if (key === 'lease') {
      const lease = value as TaskPatch['lease'];
      put('leaseOwner', lease ? lease.owner : null);
      put('leaseUntil', lease ? new Date(lease.until) : null);
    } else if (key === 'error' || key === 'status' || key === 'attempts' || key === 'page') put(key, value);
    else put(key, value === null ? null : new Date(value as string));
  }
  return change;
}

/** An ImagePatch (ISO strings, null = remove) as a revision Change on an image document. */
export function imageChange(patch: ImagePatch): Change {
  const change: Change = { set: {}, unset: [] };
  const unset = change.unset as string[];
  for (const [key, value] of Object.entries(patch) as Array<[keyof ImagePatch, unknown]>) {
    if (value === undefined) continue;
    if (value === null) unset.push(key);
    else change.set[key] = key === 'claimedAt' || key === 'updatedAt' ? new Date(value as string) : value;
  }
  return change;
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
