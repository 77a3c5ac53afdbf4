/**
 * One short log line per answered request (`req`, `res`, `responseTime`, as pino-http wrote them), at error
 * level only for the server's own failures. Written by hand because pino-http made two child loggers and
 * serialised the request for every request, a large share of a cheap GET; `req.log` (a child logger bound
 * to the request) is made only when a handler asks for it.
 */
import { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { infoLineWriter } from './log-line.js';
import { onClosed } from './on-closed.js';

declare module 'http' {
  interface IncomingMessage {
    /** This request's number in this process, as logged. */
    readonly id?: number;
    /** A logger bound to this request (made on first use). */
    log?: Logger;
  }
}

const URL_MAX = 512;

interface RequestContext {
  id: number;
  /** As requested, read when the request came in: a router strips its mount path from req.url while its handlers run. */
  url: string;
  log: Logger;
  child?: Logger;
}

const CONTEXT = Symbol('request log context');
type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

const summary = (req: IncomingMessage, c: RequestContext) => ({ id: c.id, method: req.method, url: c.url, remoteAddress: req.socket.remoteAddress });

// `req.log` and `req.id` are getters on the prototype of every request, not properties defined on each (an
// accessor defined per request was a visible share of a cheap GET); they read this request's context.
Object.defineProperties(IncomingMessage.prototype, {
  log: {
    configurable: true,
    enumerable: false,
    get(this: WithContext): Logger | undefined {
      const c = this[CONTEXT];
      return c && (c.child ??= c.log.child({ req: summary(this, c) }));
    },
  },
  id: {
    configurable: true,
    enumerable: false,
    get(this: WithContext): number | undefined {
      return this[CONTEXT]?.id;
    },
  },
});

/** The fields of a request's line as JSON, as pino writes `{ req, res, responseTime }`. */
function lineJson(req: IncomingMessage, c: RequestContext, statusCode: number, responseTime: number): string {
  const address = req.socket.remoteAddress;
  const remote = address === undefined ? '' : `,"remoteAddress":${JSON.stringify(address)}`;
  return `"req":{"id":${c.id},"method":${JSON.stringify(req.method)},"url":${JSON.stringify(c.url)}${remote}},"res":{"statusCode":${statusCode}},"responseTime":${responseTime}`;
}

export function requestLog(log: Logger, ignore: (url: string) => boolean = () => false): RequestHandler {
  let seq = 0;
  const info = infoLineWriter(log);
  return (req, res, next) => {
    const c: RequestContext = { id: ++seq, url: req.url.slice(0, URL_MAX), log };
    (req as WithContext)[CONTEXT] = c;
    if (ignore(req.url)) return next();
    const start = Date.now();
    // 'close' alone serves both cases: answered (writableFinished) or cut off.
    onClosed(res, () => {
      const responseTime = Date.now() - start;
      const statusCode = res.statusCode;
      const fields = () => ({ req: summary(req, c), res: { statusCode }, responseTime });
      if (statusCode >= 500) log.error({ ...fields(), err: new Error(`failed with status code ${statusCode}`) }, 'request errored');
      else info(() => lineJson(req, c, statusCode, responseTime), fields, res.writableFinished ? 'request completed' : 'request aborted');
    });
    next();
  };
}
