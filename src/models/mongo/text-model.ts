/** The `task_texts` collection: a text task's page text, apart from the task so task lists stay small. */
import { Schema } from 'mongoose';

export interface TextDoc {
  /** The task id. */
  _id: string;
  /**
   * The text as UTF-8 bytes (BSON binary). A string would do on MongoDB, but FerretDB on PostgreSQL keeps
   * documents as jsonb, which refuses U+0000 in a string; bytes round-trip every text exactly on every backend.
   */
  utf8?: Buffer;
  /** Texts written before `utf8` existed: read, never written. */
  text?: string;
}

export const textSchema = new Schema<TextDoc>(
  {
    _id: { type: String, required: true },
    utf8: { type: Buffer },
    text: { type: String },
  },
  { versionKey: false, id: false, strict: true },
);
