import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; children carry taskId and url. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'scrapeds' }, timestamp: pino.stdTimeFunctions.isoTime });
}
