/**
 * Failures of the service itself (a full disk, a read-only volume, a bug), as users see them: a stable code
 * and a fixed message. Their detail (OS messages with absolute paths, stacks) is for the log only; the
 * task runner logs it where it catches the error.
 */
import type { TaskError } from './task.js';

export const INTERNAL_FAILURES = {
  storage_error: 'the service could not write to its storage (full, read-only or missing); the operator has the details in the service log',
  internal_error: 'an internal error stopped this; the operator has the details in the service log',
} as const;

export type InternalFailureCode = keyof typeof INTERNAL_FAILURES;

/** Filesystem and SQLite errors that mean "our storage failed", not "the page failed". */
const STORAGE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EMFILE', 'ENFILE', 'EFBIG']);
const isStorageError = (code: unknown) => typeof code === 'string' && (STORAGE_ERRNOS.has(code) || /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code));

export function internalTaskError(err: unknown): TaskError {
  const code: InternalFailureCode = isStorageError((err as { code?: unknown } | null)?.code) ? 'storage_error' : 'internal_error';
  return { code, message: INTERNAL_FAILURES[code] };
}

/** What the API shows: internal failures always with their fixed message, even rows stored before it was fixed. */
export function publicTaskError(e: TaskError): TaskError {
  return Object.hasOwn(INTERNAL_FAILURES, e.code) ? { code: e.code, message: INTERNAL_FAILURES[e.code as InternalFailureCode] } : e;
}
