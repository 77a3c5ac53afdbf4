/**
 * `npm run dead-letters -- list [limit]` / `replay [limit] [--malformed]`: inspect and replay the
 * RabbitMQ dead-letter queue of QUEUE_NAME at AMQP_URL (the service's own configuration). See docs/cluster.md.
 */
import { loadConfig } from './config.js';
import { listDeadLetters, replayDeadLetters } from './queue/celery/dead-letters.js';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  if (!config.amqpUrl) throw new Error('AMQP_URL is not set: the dead-letter queue lives in RabbitMQ');
  const limitArg = rest.find((a) => /^\d+$/.test(a));
  const limit = limitArg === undefined ? undefined : Number(limitArg);
  if (command === 'list') {
    const letters = await listDeadLetters(config.amqpUrl, config.queueName, limit);
    for (const letter of letters) process.stdout.write(`${JSON.stringify(letter)}\n`);
    process.stderr.write(`${letters.length} dead letter(s) in ${config.queueName}.dead\n`);
  } else if (command === 'replay') {
    const moved = await replayDeadLetters(config.amqpUrl, config.queueName, { limit, includeMalformed: rest.includes('--malformed') });
    for (const letter of moved) process.stdout.write(`${JSON.stringify(letter)}\n`);
    process.stderr.write(`replayed ${moved.length} message(s) to ${config.queueName}\n`);
  } else {
    throw new Error('usage: dead-letters list [limit] | replay [limit] [--malformed]');
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
});
