/** Raw HTTP for tests: fetch() and supertest normalise paths (`..`, `%2e%2e`, bad escapes) before the server sees them. */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RawRequest {
  method?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

export function send(base: string, rawPath: string, { method = 'GET', body, headers = {} }: RawRequest = {}): Promise<Reply> {
  const { hostname, port } = new URL(base);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: hostname, port, path: rawPath, method, agent: false, headers: { ...(bytes ? { 'content-length': bytes.length } : {}), ...headers } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        res.on('end', done);
        res.on('close', done); // cut short: what arrived is the answer
        res.on('error', reject);
      },
    );
    // The server may answer (413, 400) and close before the whole body is written; the answer is what counts.
    // A connection closed with no answer at all reads as status 0.
    req.on('error', (err: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(err.code ?? '') ? undefined : reject(err)));
    req.on('close', () => {
      if (!answered) resolve({ status: 0, headers: {}, body: Buffer.alloc(0) });
    });
    req.end(bytes);
  });
}
