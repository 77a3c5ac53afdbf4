/**
 * One AMQP connection, reopened on demand. It makes a single attempt per call (concurrent callers
 * share it); the callers own their retry loops because they want different bounds: a consumer
 * retries until shutdown, a dispatch until its deadline.
 */
import amqplib, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';

export class AmqpConnector {
  private current?: ChannelModel;
  private opening?: Promise<ChannelModel>;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly connectionName: string,
    private readonly log: Logger,
    private readonly connectTimeoutMs = 10_000,
  ) {}

  connection(): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new Error('AMQP connection is closed'));
    if (this.current) return Promise.resolve(this.current);
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(): Promise<ChannelModel> {
    const conn = await amqplib.connect(this.url, {
      timeout: this.connectTimeoutMs,
      clientProperties: { connection_name: this.connectionName },
    });
    // Without an 'error' listener an unexpected close (node stopped, CONNECTION_FORCED) would crash the process.
    conn.on('error', (err: Error) => this.log.warn({ err: err.message }, 'AMQP connection error'));
    conn.on('close', () => {
      if (this.current === conn) this.current = undefined;
      if (!this.closed) this.log.warn('AMQP connection lost');
    });
    conn.on('blocked', (reason: string) => this.log.warn({ reason }, 'AMQP connection blocked by the broker'));
    conn.on('unblocked', () => this.log.info('AMQP connection unblocked'));
    if (this.closed) {
      await conn.close().catch(() => {});
      throw new Error('AMQP connection is closed');
    }
    this.current = conn;
    this.log.info('AMQP connected');
    return conn;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => {});
    const conn = this.current;
    this.current = undefined;
    // Closing an already-dropped connection throws; there is nothing left to release then.
    if (conn) await conn.close().catch(() => {});
  }
}
