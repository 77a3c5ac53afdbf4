/** The `task_images` collection: how each image of a task ended, one document per (task, position). */
import { Schema } from 'mongoose';
import { IMAGE_OUTCOMES, type TaskImage } from '../task.js';

/** A task image as stored: the file is not kept here but joined from `images` by `imageId`. */
export interface TaskImageDoc extends Omit<TaskImage, 'file'> {
  /** `${taskId}/${position}`: an upsert by `_id` is an index lookup even on FerretDB v1. */
  _id: string;
}

export const taskImageSchema = new Schema<TaskImageDoc>(
  {
    _id: { type: String, required: true },
    taskId: { type: String, required: true },
    position: { type: Number, required: true, min: 0 },
    sourceUrl: { type: String, required: true },
    imageId: { type: String, required: true },
    outcome: { type: String, enum: IMAGE_OUTCOMES, required: true },
    error: Schema.Types.Mixed,
    details: Schema.Types.Mixed,
  },
  { versionKey: false, id: false, strict: true, minimize: false },
);

taskImageSchema.index({ taskId: 1, position: 1 }, { unique: true });
taskImageSchema.index({ taskId: 1, imageId: 1, position: 1 });
taskImageSchema.index({ taskId: 1, outcome: 1 });

export function taskImageId(taskId: string, position: number): string {
  return `${taskId}/${position}`;
}
