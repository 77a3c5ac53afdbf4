/**
 * One short log line per answered request (`req`, `res`, `responseTime`, as pino-http wrote them), at error
 * level only for the server's own failures. Written by hand because pino-http made two child loggers and
 * serialised the request for every request, a large share of a cheap GET; `req.log` (a child logger bound
 * to the request) is made only when a handler asks for it.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

declare module 'http' {
  interface IncomingMessage {
    /** This request's number in this process, as logged. */
    id?: number;
    /** A logger bound to this request (made on first use). */
    log?: Logger;
  }
}

const URL_MAX = 512;

export function requestLog(log: Logger, ignore: (url: string) => boolean = () => false): RequestHandler {
  let seq = 0;
  return (req, res, next) => {
    const id = ++seq;
    req.id = id;
    // Read now: a router strips its mount path from req.url while its handlers run.
    const url = req.url.slice(0, URL_MAX);
    const summary = () => ({ id, method: req.method, url, remoteAddress: req.socket.remoteAddress });
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', { configurable: true, enumerable: false, get: () => (child ??= log.child({ req: summary() })) });
    if (ignore(req.url)) return next();
    const start = Date.now();
    // 'close' alone: a response emits it once, after 'finish' when answered (writableFinished) and alone when
    // cut off, so one listener serves both cases (two listeners and their removal were a visible share of a GET).
    res.on('close', () => {
      const responseTime = Date.now() - start;
      const line = { req: summary(), res: { statusCode: res.statusCode }, responseTime };
      if (res.statusCode >= 500) log.error({ ...line, err: new Error(`failed with status code ${res.statusCode}`) }, 'request errored');
      else if (!res.writableFinished) log.info(line, 'request aborted');
      else log.info(line, 'request completed');
    });
    next();
  };
}
