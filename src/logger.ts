import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout; children carry taskId and url. Writes are buffered (4 KiB, flushed on a timer
 * and at exit by main) because a synchronous write per request line was a measurable share of API time.
 */
export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => destination.flush(), 250);
  timer.unref();
  return pino({ level, base: { service: 'scrapeds' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** Writes out buffered log lines; call before process.exit. */
export function flushLogger(log: Logger): void {
  try {
    log.flush();
  } catch {
    // flushing is best effort at exit
  }
}
