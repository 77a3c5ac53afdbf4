/** The `task_texts` collection: a text task's page text, apart from the task so task lists stay small. */
import { Schema } from 'mongoose';

export interface TextDoc {
  /** The task id. */
  _id: string;
  text: string;
}

export const textSchema = new Schema<TextDoc>(
  {
    _id: { type: String, required: true },
    text: { type: String, default: '' },
  },
  { versionKey: false, id: false, strict: true },
);
