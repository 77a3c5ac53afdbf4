/**
 * What a MongoDB write refused: a duplicate key, and the per-document errors of an unordered bulk insert.
 * One unordered `insertMany` is how the adapter writes many new documents in one command (claims, links,
 * revision tickets, created tasks); insertUnordered is that write, with the reading of its errors in one place.
 */
import type { Collection } from 'mongoose';

/** One document an unordered insert refused: its index in the batch, the server's code and message. */
export interface DocumentRefusal {
  index: number;
  code: unknown;
  message: string;
}

export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; writeErrors?: Array<{ code?: unknown }> };
  return e.code === 11000 || e.code === 11001 || (e.writeErrors?.some((w) => w.code === 11000) ?? false);
}

/**
 * The per-document errors of an unordered bulk insert, or undefined when `err` is not one. A command that
 * failed as a whole is not: the driver reports it with an empty `writeErrors` (FerretDB on a full disk answers
 * an insert `ok: 0`), and read as "no document refused" it would pass for a success.
 */
export function writeErrorsOf(err: unknown): DocumentRefusal[] | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const raw = (err as { writeErrors?: unknown }).writeErrors;
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]) as Array<{ index?: unknown; code?: unknown; errmsg?: unknown }>;
  return list.length > 0 && list.every((e) => typeof e.index === 'number')
    ? list.map((e) => ({ index: e.index as number, code: e.code, message: typeof e.errmsg === 'string' ? e.errmsg : 'write error' }))
    : undefined;
}

export interface InsertOptions {
  /** The refusals the caller handles (default: a duplicate key, i.e. the document is already there). */
  expected?: (refusal: DocumentRefusal) => boolean;
  /** Leave undefined values out, as mongoose's create does (the driver's default stores them as null). */
  ignoreUndefined?: boolean;
}

/**
 * Inserts `docs` in one unordered command and answers the documents the server refused (none: all stored).
 * Any refusal the caller does not expect, or a command that failed as a whole, throws the driver's own error.
 */
export async function insertUnordered(collection: Collection, docs: readonly unknown[], options: InsertOptions = {}): Promise<DocumentRefusal[]> {
  const { expected = isDuplicateKey, ignoreUndefined = false } = options;
  try {
    await collection.insertMany(docs as never[], { ordered: false, ignoreUndefined });
    return [];
  } catch (err) {
    const refused = writeErrorsOf(err);
    if (!refused || !refused.every(expected)) throw err;
    return refused;
  }
}
