/**
 * Several middlewares run as one layer of the app's router: every request passes the app-wide ones (security
 * headers, request log, metrics, keys, limits), and each router layer passed costs a match and a dispatch, a
 * visible share of a cheap GET. They run in order with Express 5's rules: an error passed to `next`, thrown,
 * or a rejected promise goes to the app's error handlers. (`next('route')` is not meaningful here.)
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function chain(handlers: readonly RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  return (req: Request, res: Response, done: NextFunction) => {
    let i = 0;
    const next: NextFunction = (err?: unknown) => {
      if (err !== undefined && err !== null) return done(err);
      const handler = handlers[i++];
      if (!handler) return done();
      try {
        const ret: unknown = handler(req, res, next);
        if (ret instanceof Promise) ret.then(undefined, (e: unknown) => done(e ?? new Error('Rejected promise')));
      } catch (e) {
        done(e);
      }
    };
    next();
  };
}
