/** RFC 9457 problem details: every error the API sends has this shape and media type. */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../logger.js';

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
  next(new ProblemError(404, 'Not Found', `no route for ${req.method} ${req.path}`));

/** body-parser errors carry a `type`; map them to problems that name the body. */
function fromBodyParser(err: { type?: string; status?: number; message?: string }): ProblemError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ProblemError(400, 'Invalid JSON', `request body is not valid JSON: ${err.message}`, [{ field: 'body', message: 'invalid JSON' }]);
    case 'entity.too.large':
      return new ProblemError(413, 'Payload Too Large', 'request body is too large', [{ field: 'body', message: 'too large' }]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProblemError(415, 'Unsupported Media Type', err.message, [{ field: 'body', message: 'unsupported encoding' }]);
    default:
      return err.type && err.status && err.status < 500 ? new ProblemError(err.status, 'Bad Request', err.message) : undefined;
  }
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const problem = err instanceof ProblemError ? err : fromBodyParser(err as { type?: string });
    if (problem) return sendProblem(res, problem, req.originalUrl);
    log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    if (res.headersSent) return res.destroy();
    sendProblem(res, new ProblemError(500, 'Internal Server Error', 'an unexpected error occurred'), req.originalUrl);
  };
}
