/** The app's last handler: every thrown error becomes a problem; only the server's own failures are logged as errors. */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { clientProblem } from './client-errors.js';
import { ProblemError, safeInstance, sendProblem } from './problem.js';

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const problem = err instanceof ProblemError ? err : clientProblem(err);
    if (problem) return sendProblem(res, problem, safeInstance(req.originalUrl));
    log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    if (res.headersSent) return res.destroy();
    sendProblem(res, new ProblemError(500, 'Internal Server Error', 'an unexpected error occurred'), safeInstance(req.originalUrl));
  };
}
