/** Typed failures of fetching and extraction; their codes are what users see on a failed task or image. */
import { internalTaskError } from '../models/task-error.js';
import type { TaskError } from '../models/task.js';

export type ScrapeErrorCode =
  | 'invalid_url'
  | 'unsupported_scheme'
  | 'blocked_address'
  | 'dns_error'
  | 'connection_error'
  | 'timeout'
  | 'http_error'
  | 'too_large'
  | 'too_many_redirects'
  | 'not_html'
  | 'not_an_image'
  | 'too_many_images'
  | 'robots_disallowed'
  | 'robots_unavailable'
  | 'proxy_error'
  /** The site reserves the item against AI training and RIGHTS_POLICY=respect (src/worker/rights-policy.ts). */
  | 'rights_reserved'
  /** Every HTML parse thread was busy and the wait queue full (PARSE_QUEUE). */
  | 'parser_busy';

export interface ScrapeErrorDetails {
  httpStatus?: number;
  address?: string;
  /** The raw `Retry-After` of a 429/503, for the retry policy; not shown to users. */
  retryAfter?: string;
}

export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';

  constructor(
    readonly code: ScrapeErrorCode,
    message: string,
    readonly details: ScrapeErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function toTaskError(err: unknown): TaskError {
  if (err instanceof ScrapeError) {
    const out: TaskError = { code: err.code, message: err.message };
    // Absent rather than undefined keys, so stores and JSON bodies stay clean.
    if (err.details.httpStatus !== undefined) out.httpStatus = err.details.httpStatus;
    if (err.details.address !== undefined) out.address = err.details.address;
    return out;
  }
  return internalTaskError(err);
}
