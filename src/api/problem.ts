/** RFC 9457 problem details: every error the API sends has this shape and media type. */
import type { RequestHandler, Response } from 'express';

export interface FieldError {
  field: string;
  message: string;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export function sendProblem(res: Response, p: ProblemError, instance?: string): void {
  res
    .status(p.status)
    .set({ ...p.headers, 'content-type': 'application/problem+json; charset=utf-8' })
    .send(
      JSON.stringify({
        type: 'about:blank',
        title: p.title,
        status: p.status,
        ...(p.detail ? { detail: p.detail } : {}),
        ...(instance ? { instance } : {}),
        ...(p.errors ? { errors: p.errors } : {}),
      }),
    );
}

export const invalid = (errors: FieldError[]) =>
  new ProblemError(400, 'Invalid request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);

export const notFound = (detail: string) => new ProblemError(404, 'Not Found', detail);

export const unknownRoute: RequestHandler = (req, _res, next) =>
  next(new ProblemError(404, 'Not Found', `no route for ${req.method} ${safeInstance(req.path)}`));

/** The request path as a problem's `instance`, cut short: a client's megabyte of path is not echoed back. */
export const safeInstance = (path: string) => (path.length > 512 ? `${path.slice(0, 512)}…` : path);
