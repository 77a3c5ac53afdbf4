/** Process entry: config, logger, the service, and signals. */
import { ConfigError, loadConfig } from './config.js';
import { limitHeapGrowth } from './heap-growth.js';
import { createLogger, flushLogger, type Logger } from './logger.js';
import { startService } from './service.js';

let log: Logger | undefined;

function exit(code: number): never {
  if (log) flushLogger(log);
  process.exit(code);
}

async function main(): Promise<void> {
  const config = loadConfig();
  limitHeapGrowth(config.heapGrowthPercent);
  log = createLogger(config.logLevel);
  const service = await startService(config, log);
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) exit(1); // a second Ctrl-C means now
    log?.info({ signal }, 'draining');
    service.close().then(
      () => exit(0),
      (err: unknown) => {
        log?.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (log) log.fatal({ err }, 'start-up failed');
  console.error(err instanceof ConfigError ? err.message : err);
  exit(1);
});
