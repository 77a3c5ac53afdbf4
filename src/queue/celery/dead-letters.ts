/**
 * The operator's side of the dead-letter queue `<queue>.dead` (see celery-queue.ts): list what is in it
 * and why, and replay messages to the work queue. A replayed copy has its death headers removed, its
 * Celery `retries` reset and REPLAYED_HEADER set, so the worker starts a task that gave up afresh.
 * Messages are moved one at a time, each published with a confirm before it is acked, so a crash in
 * between can duplicate a message (handled idempotently by the worker) but never lose one.
 */
import amqplib, { type GetMessage, type Options } from 'amqplib';
import { QUEUE_OPTIONS, REPLAYED_HEADER, deadLetterQueueName, decodeCeleryTask } from './celery-message.js';

export interface DeadLetter {
  taskName?: string;
  taskId?: string;
  reason?: string;
  error?: string;
  at?: string;
  /** Why it cannot run, when the message itself is malformed. */
  malformed?: string;
}

function describe(msg: GetMessage): DeadLetter {
  const headers = msg.properties.headers ?? {};
  const decoded = decodeCeleryTask(msg);
  const letter: DeadLetter = {
    reason: headers['x-scrapeds-death-reason'] as string | undefined,
    error: headers['x-scrapeds-death-error'] as string | undefined,
    at: headers['x-scrapeds-death-at'] as string | undefined,
  };
  if (decoded.ok) Object.assign(letter, { taskName: decoded.taskName, taskId: decoded.job.taskId });
  else Object.assign(letter, { taskName: decoded.taskName, malformed: decoded.reason });
  return letter;
}

async function withChannel<T>(amqpUrl: string, queue: string, fn: (ch: amqplib.ConfirmChannel, dead: string) => Promise<T>): Promise<T> {
  const conn = await amqplib.connect(amqpUrl, { clientProperties: { connection_name: 'scrapeds dead-letters' } });
  try {
    const ch = await conn.createConfirmChannel();
    const dead = deadLetterQueueName(queue);
    await ch.assertQueue(queue, QUEUE_OPTIONS);
    await ch.assertQueue(dead, QUEUE_OPTIONS);
    return await fn(ch, dead);
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Up to `limit` dead letters, oldest first, left in place (fetched and requeued in one channel, so none is seen twice). */
export function listDeadLetters(amqpUrl: string, queue: string, limit = 100): Promise<DeadLetter[]> {
  return withChannel(amqpUrl, queue, async (ch, dead) => {
    const letters: DeadLetter[] = [];
    for (let i = 0; i < limit; i++) {
      const msg = await ch.get(dead, { noAck: false });
      if (!msg) break;
      letters.push(describe(msg));
    }
    // Closing the channel returns every unacked message to the queue, in its original order.
    return letters;
  });
}

/** Sends up to `limit` dead letters (malformed ones only with `includeMalformed`) back to `queue`; returns what it moved. */
export function replayDeadLetters(amqpUrl: string, queue: string, options: { limit?: number; includeMalformed?: boolean } = {}): Promise<DeadLetter[]> {
  return withChannel(amqpUrl, queue, async (ch, dead) => {
    const moved: DeadLetter[] = [];
    const skipped: GetMessage[] = [];
    for (let i = 0; i < (options.limit ?? Infinity); i++) {
      const msg = await ch.get(dead, { noAck: false });
      if (!msg) break;
      const letter = describe(msg);
      if (letter.malformed && !options.includeMalformed) {
        skipped.push(msg);
        continue;
      }
      const headers: Record<string, unknown> = { ...(msg.properties.headers ?? {}), retries: 0, [REPLAYED_HEADER]: new Date().toISOString() };
      for (const key of Object.keys(headers)) if (key.startsWith('x-scrapeds-death-')) delete headers[key];
      const copy: Options.Publish = {
        contentType: msg.properties.contentType as string | undefined,
        contentEncoding: msg.properties.contentEncoding as string | undefined,
        correlationId: msg.properties.correlationId as string | undefined,
        persistent: true,
        headers,
      };
      await new Promise<void>((resolve, reject) => ch.sendToQueue(queue, msg.content, copy, (err: unknown) => (err ? reject(err) : resolve())));
      ch.ack(msg);
      moved.push(letter);
    }
    for (const msg of skipped) ch.nack(msg, false, true);
    return moved;
  });
}
