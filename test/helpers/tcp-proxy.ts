/** A TCP proxy in front of a service (RabbitMQ here), to simulate outages without disturbing other users of it. */
import net from 'node:net';

/** A TCP proxy to RabbitMQ whose "outage" destroys every connection and refuses new ones. */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private up = true;
  private constructor(
    private readonly server: net.Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<TcpProxy> {
    const t = new URL(target);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const via = new URL(target);
    via.hostname = '127.0.0.1';
    via.port = String((server.address() as net.AddressInfo).port);
    const proxy = new TcpProxy(server, via.toString());
    server.on('connection', (client) => proxy.accept(client, t.hostname, Number(t.port || 5672)));
    return proxy;
  }

  private accept(client: net.Socket, host: string, port: number): void {
    if (!this.up) return void client.destroy();
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}
