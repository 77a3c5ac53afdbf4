/**
 * The cluster JobQueue: RabbitMQ, speaking Celery message protocol v2 (see celery-message.ts and
 * docs/celery-protocol.md), written on amqplib rather than on celery-node 0.5.9, whose Client
 * publishes fire-and-forget and whose Worker acks on receipt; see docs/celery-protocol.md.
 *
 * At-least-once: a delivery is acked only after the handler resolves. `concurrency` jobs are at work at once
 * (a handler's workDone gives its slot to the next while its final writes finish); the broker hands over
 * twice as many messages (prefetch), so the next one is here when a slot frees, and no more handlers run.
 * A job whose handler throws is retried after a backoff (see retryLater), at most retry.maxAttempts runs;
 * then it goes to the dead-letter queue `<queue>.dead` that this service declares, as do malformed
 * messages. dead-letters.ts lists and replays it (docs/cluster.md).
 */
import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import pLimit from 'p-limit';
import { pino, type Logger } from 'pino';
import {
  DEFAULT_RETRY_POLICY, QueueClosedError, isLastAttempt, type ConsumeOptions, type Job, type JobHandler, type JobProgress, type JobQueue, type Reservation,
  type RetryPolicy,
} from '../job-queue.js';
import { AmqpConnector } from './amqp-connector.js';
import { sleep } from '../../util/sleep.js';
import { backoffDelay, withTimeout, type Backoff } from '../../util/backoff.js';
import { QUEUE_OPTIONS, decodeCeleryTask, deadLetterQueueName, encodeCeleryTask, retriesOf } from './celery-message.js';

export interface CeleryQueueOptions {
  amqpUrl: string;
  /** The Celery queue (routing key on the default exchange). */
  queueName?: string;
  log?: Logger;
  /** Between connection attempts. */
  reconnect?: Backoff;
  /** How long a dispatch keeps retrying while RabbitMQ is unreachable before it throws. */
  dispatchTimeoutMs?: number;
  /** Runs per job, and how long a delivery whose handler threw is held before it is requeued. */
  retry?: RetryPolicy;
  /** Shown in RabbitMQ's connection list. */
  connectionName?: string;
}

/**
 * Messages a consumer holds unacknowledged: one waiting behind each running handler (docs/decisions.md,
 * "WORKER_CONCURRENCY bounds the pages at work"). The handler that ends acks, and the next starts at once
 * instead of after the broker's round trip. The pLimit bounds the jobs at work; the prefetch, all handlers.
 */
function prefetchFor(concurrency: number): number {
  return 2 * concurrency;
}

export function createCeleryQueue(options: CeleryQueueOptions): JobQueue {
  return new CeleryQueue(options);
}

/** One consumer channel; `open` turns false when it closes, after which its deliveries cannot be acked. */
interface Subscription {
  ch: Channel;
  open: boolean;
  consumerTag?: string;
}

class CeleryQueue implements JobQueue {
  private readonly queueName: string;
  private readonly log: Logger;
  private readonly reconnect: Backoff;
  private readonly retry: RetryPolicy;
  private readonly deadLetterQueue: string;
  private onDeadLetter?: ConsumeOptions['onDeadLetter'];
  private readonly dispatchTimeoutMs: number;
  private readonly connector: AmqpConnector;
  private readonly stopping = new AbortController();
  private closing?: Promise<void>;

  private publisher?: Promise<ConfirmChannel>;

  private handler?: JobHandler;
  private concurrency = 1;
  private limit?: ReturnType<typeof pLimit>;
  private subscription?: Subscription;
  private subscribing?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private consecutiveFailures = 0;

  constructor(options: CeleryQueueOptions) {
    this.queueName = options.queueName ?? 'scrapeds';
    this.log = (options.log ?? pino({ enabled: false })).child({ queue: this.queueName });
    this.reconnect = options.reconnect ?? { minMs: 250, maxMs: 15_000 };
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.deadLetterQueue = deadLetterQueueName(this.queueName);
    this.dispatchTimeoutMs = options.dispatchTimeoutMs ?? 15_000;
    this.connector = new AmqpConnector(options.amqpUrl, options.connectionName ?? `scrapeds ${process.pid}`, this.log);
  }

  private get closed(): boolean {
    return this.stopping.signal.aborted;
  }

  // ------------------------------------------------------------------ dispatch

  /** RabbitMQ has no capacity to hold; a place is refused only once close has begun. */
  reserve(): Reservation {
    if (this.closed) throw new QueueClosedError();
    return { dispatch: (job) => this.dispatch(job), release: () => {} };
  }

  async dispatch(job: Job): Promise<void> {
    if (this.closed) throw new QueueClosedError();
    const { celeryId, content, options } = encodeCeleryTask(job);
    const deadline = Date.now() + this.dispatchTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const remaining = deadline - Date.now();
        await withTimeout(this.publish(content, options), remaining, `no publish confirm within ${this.dispatchTimeoutMs} ms`);
        this.log.debug({ taskId: job.taskId, celeryId }, 'dispatched');
        return;
      } catch (err) {
        const delay = backoffDelay(attempt, this.reconnect);
        if (this.closed || Date.now() + delay >= deadline) {
          throw new Error(`could not dispatch task ${job.taskId} to RabbitMQ queue ${this.queueName}: ${(err as Error).message}`, { cause: err });
        }
        this.log.warn({ taskId: job.taskId, err, attempt, delayMs: delay }, 'dispatch failed; retrying');
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  /** Resolves when the broker has confirmed the message (it is then on disk: persistent, durable queue). */
  private async publish(content: Buffer, options: Options.Publish, queue = this.queueName): Promise<void> {
    const ch = await this.publisherChannel();
    await new Promise<void>((resolve, reject) => {
      ch.publish('', queue, content, options, (err: unknown) => (err ? reject(err) : resolve()));
    });
  }

  private publisherChannel(): Promise<ConfirmChannel> {
    if (this.publisher) return this.publisher;
    const opening: Promise<ConfirmChannel> = (async () => {
      const conn = await this.connector.connection();
      const ch = await conn.createConfirmChannel();
      ch.on('error', (err: Error) => this.log.warn({ err }, 'AMQP publisher channel error'));
      ch.on('close', () => {
        if (this.publisher === opening) this.publisher = undefined;
      });
      await ch.assertQueue(this.queueName, QUEUE_OPTIONS);
      await ch.assertQueue(this.deadLetterQueue, QUEUE_OPTIONS);
      return ch;
    })();
    this.publisher = opening;
    // A failed attempt is not cached: the next dispatch tries afresh.
    opening.catch(() => {
      if (this.publisher === opening) this.publisher = undefined;
    });
    return opening;
  }

  // ------------------------------------------------------------------ consume

  async consume(handler: JobHandler, options: ConsumeOptions): Promise<void> {
    if (this.closed) throw new Error('queue is closed');
    if (this.handler) throw new Error('this queue already has a consumer');
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new Error('concurrency must be a positive integer');
    this.handler = handler;
    this.onDeadLetter = options.onDeadLetter;
    this.concurrency = options.concurrency;
    // Also bounds handlers across a reconnect, while those of the lost channel still run.
    this.limit = pLimit(options.concurrency);
    await this.ensureSubscribed();
  }

  /** (Re)subscribes until it succeeds or the queue closes; concurrent callers share one loop. */
  private ensureSubscribed(): Promise<void> {
    this.subscribing ??= this.subscribeLoop().finally(() => {
      this.subscribing = undefined;
    });
    return this.subscribing;
  }

  private async subscribeLoop(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.subscribe();
        // The channel may already have died again; then go round once more.
        if (this.subscription?.open) {
          if (attempt > 0) this.log.info({ attempt }, 'consuming again');
          return;
        }
      } catch (err) {
        this.log.warn({ err, attempt }, 'cannot consume; retrying');
      }
      await sleep(backoffDelay(attempt, this.reconnect), this.stopping.signal);
    }
  }

  private async subscribe(): Promise<void> {
    const conn = await this.connector.connection();
    const ch = await conn.createChannel();
    const sub: Subscription = { ch, open: true };
    ch.on('error', (err: Error) => this.log.warn({ err }, 'AMQP consumer channel error'));
    ch.on('close', () => {
      sub.open = false;
      if (this.subscription !== sub) return;
      this.subscription = undefined;
      if (!this.closed) void this.ensureSubscribed();
    });
    try {
      await ch.prefetch(prefetchFor(this.concurrency));
      await ch.assertQueue(this.queueName, QUEUE_OPTIONS);
      await ch.assertQueue(this.deadLetterQueue, QUEUE_OPTIONS);
      this.subscription = sub;
      const { consumerTag } = await ch.consume(this.queueName, (msg) => this.onDelivery(sub, msg), { noAck: false });
      sub.consumerTag = consumerTag;
    } catch (err) {
      if (this.subscription === sub) this.subscription = undefined;
      await ch.close().catch(() => {});
      throw err;
    }
    if (this.closed) await this.cancel(sub);
  }

  private onDelivery(sub: Subscription, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (queue deleted, node going down): start over on a fresh channel.
      this.log.warn('consumer cancelled by the broker');
      void sub.ch.close().catch(() => {});
      return;
    }
    if (this.closed) {
      this.settle(sub, msg, 'requeue');
      return;
    }
    const decoded = decodeCeleryTask(msg);
    if (!decoded.ok) {
      this.log.error(
        { reason: decoded.reason, task: decoded.taskName, redelivered: msg.fields.redelivered, body: msg.content.subarray(0, 200).toString('utf8') },
        'dead-lettering a malformed message',
      );
      void this.deadLetter(sub, msg, 'malformed', decoded.reason, this.log);
      return;
    }
    const limit = this.limit as ReturnType<typeof pLimit>;
    this.log.debug({ step: 'delivered', taskId: decoded.job.taskId, redelivered: msg.fields.redelivered }, 'timeline');
    const job: Job = msg.fields.redelivered ? { ...decoded.job } : { ...decoded.job, firstDelivery: true };
    if (retriesOf(msg) > 0) job.retried = true;
    // A slot is the job's while it is at work: given back at the handler's workDone, or at its end.
    const run = new Promise<void>((ended) => {
      void limit(() => new Promise<void>((freeSlot) => {
        this.run(sub, msg, job, decoded.celeryId, freeSlot)
          .catch((err: unknown) => this.log.error({ err, taskId: decoded.job.taskId }, 'unexpected error while running a job'))
          .finally(() => {
            freeSlot();
            ended();
          });
      }));
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async run(sub: Subscription, msg: ConsumeMessage, job: Job, celeryId: string, freeSlot: () => void): Promise<void> {
    // Waited for a slot while its channel died: the broker has already requeued it.
    if (!sub.open) return;
    if (this.closed) return this.settle(sub, msg, 'requeue');
    const log = this.log.child({ taskId: job.taskId, celeryId });
    this.log.debug({ step: 'slot', taskId: job.taskId }, 'timeline');
    const progress: JobProgress = {
      workDone: () => {
        this.log.debug({ step: 'workDone', taskId: job.taskId }, 'timeline');
        freeSlot();
      },
    };
    try {
      await (this.handler as JobHandler)(job, progress);
      this.consecutiveFailures = 0;
      this.settle(sub, msg, 'ack');
      this.log.debug({ step: 'ack', taskId: job.taskId }, 'timeline');
    } catch (err) {
      if (this.closed) return this.settle(sub, msg, 'requeue');
      // Celery's `retries` header counts the runs before this one that threw.
      const attempt = retriesOf(msg) + 1;
      if (!isLastAttempt(err, attempt, this.retry)) return this.retryLater(sub, msg, err, log);
      log.error({ err, attempt }, 'giving up on the job; dead-lettering it');
      await this.onDeadLetter?.(job, err).catch((deadErr: unknown) => log.error({ err: deadErr }, 'could not record the dead-lettered job'));
      await this.deadLetter(sub, msg, 'attempts_exhausted', String((err as Error)?.message ?? err), log);
    }
  }

  /**
   * A handler that threw hit trouble its task could not record (a failing store, a crash); the
   * delivery is held for a backoff delay (its slot stays taken unless its work was done, and it stays one
   * of the prefetched messages, so a failing store is not hammered), then republished to the back of the queue with Celery's `retries` header + 1 and
   * acked, which lets other jobs pass a failing one. The delay grows with the failure streak and the
   * message's retries.
   */
  private async retryLater(sub: Subscription, msg: ConsumeMessage, err: unknown, log: Logger): Promise<void> {
    const retries = retriesOf(msg);
    const delayMs = backoffDelay(Math.max(this.consecutiveFailures++, retries), this.retry.backoff);
    log.error({ err, retries, delayMs }, 'handler failed; retrying the job later');
    await sleep(delayMs, this.stopping.signal);
    if (!sub.open) return;
    if (this.closed) return this.settle(sub, msg, 'requeue');
    await this.moveTo(sub, msg, this.queueName, { retries: retries + 1 }, log);
  }

  /** Moves a delivery to the dead-letter queue, saying why; an operator inspects and replays it from there. */
  private async deadLetter(sub: Subscription, msg: ConsumeMessage, reason: string, error: string, log: Logger): Promise<void> {
    const death = {
      'x-scrapeds-death-reason': reason,
      'x-scrapeds-death-error': error.slice(0, 1000),
      'x-scrapeds-death-queue': this.queueName,
      'x-scrapeds-death-at': new Date().toISOString(),
    };
    await this.moveTo(sub, msg, this.deadLetterQueue, death, log);
  }

  /** Publishes a copy (confirmed) with extra headers, then acks the original; requeues it if the copy fails. */
  private async moveTo(sub: Subscription, msg: ConsumeMessage, queue: string, headers: Record<string, unknown>, log: Logger): Promise<void> {
    const p = msg.properties;
    try {
      const copy: Options.Publish = {
        contentType: p.contentType as string | undefined,
        contentEncoding: p.contentEncoding as string | undefined,
        deliveryMode: p.deliveryMode as number | undefined,
        priority: p.priority as number | undefined,
        correlationId: p.correlationId as string | undefined,
        replyTo: p.replyTo as string | undefined,
        messageId: p.messageId as string | undefined,
        type: p.type as string | undefined,
        appId: p.appId as string | undefined,
        persistent: true,
        headers: { ...(p.headers ?? {}), ...headers },
      };
      await withTimeout(this.publish(msg.content, copy, queue), this.dispatchTimeoutMs, `no publish confirm from ${queue}`);
      this.settle(sub, msg, 'ack');
    } catch (publishErr) {
      log.warn({ err: publishErr, queue }, 'could not move the job; requeueing it in place');
      this.settle(sub, msg, 'requeue');
    }
  }

  private settle(sub: Subscription, msg: ConsumeMessage, how: 'ack' | 'requeue'): void {
    // On a closed channel the delivery tag is void and the broker has requeued the message already.
    if (!sub.open) return;
    try {
      if (how === 'ack') sub.ch.ack(msg);
      else sub.ch.nack(msg, false, true);
    } catch (err) {
      this.log.warn({ err, how }, 'could not settle a delivery');
    }
  }

  private async cancel(sub: Subscription): Promise<void> {
    if (!sub.open || !sub.consumerTag) return;
    await sub.ch.cancel(sub.consumerTag).catch((err: unknown) => this.log.warn({ err }, 'could not cancel the consumer'));
  }

  // ------------------------------------------------------------------ close

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping.abort();
    await this.subscribing;
    const sub = this.subscription;
    if (sub) await this.cancel(sub);
    // Running handlers finish and ack; deliveries still waiting for a slot are requeued.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.subscription = undefined;
    if (sub?.open) await sub.ch.close().catch(() => {});
    const publisher = await this.publisher?.catch(() => undefined);
    if (publisher) await publisher.close().catch(() => {});
    await this.connector.close();
    this.log.debug('closed');
  }
}
