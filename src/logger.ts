import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout; children carry taskId and url. Writes are buffered (4 KiB, flushed on a timer
 * and at exit by main) because a synchronous write per request line was a measurable share of API time.
 */
/**
 * pino's isoTime, formatted once per millisecond: Date#toISOString costs about as much as the rest of a short
 * line, and a busy API writes several lines in the same millisecond.
 */
export function isoTimeOncePerMs(now: () => number = Date.now): () => string {
  let last = -1;
  let formatted = '';
  return () => {
    const ms = now();
    if (ms !== last) {
      last = ms;
      formatted = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return formatted;
  };
}

export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => destination.flush(), 250);
  timer.unref();
  return pino({ level, base: { service: 'scrapeds' }, timestamp: isoTimeOncePerMs() }, destination);
}

/** Writes out buffered log lines; call before process.exit. */
export function flushLogger(log: Logger): void {
  try {
    log.flush();
  } catch {
    // flushing is best effort at exit
  }
}
