/** 405 with `Allow` for a path that exists but not for this method (RFC 9110 15.5.6), instead of 404. */
import type { RequestHandler } from 'express';
import { ProblemError } from './problem.js';

/**
 * The last handler of a path: the methods it lists pass on (a GET that found nothing falls through to 404),
 * OPTIONS is answered, anything else is 405 with `Allow`. HEAD is allowed wherever GET is.
 */
export function allowOnly(...methods: string[]): RequestHandler {
  const allowed = methods.includes('GET') ? [...new Set([...methods, 'HEAD'])].sort() : [...methods].sort();
  const allow = allowed.join(', ');
  return (req, res, next) => {
    if (allowed.includes(req.method)) return next();
    if (req.method === 'OPTIONS') return void res.set('allow', allow).status(204).end();
    next(new ProblemError(405, 'Method Not Allowed', `${req.method} is not allowed here; use ${allow}`, undefined, { allow }));
  };
}
