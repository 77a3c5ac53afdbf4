/** The CLI's HTTP client for the scrapeds API: JSON in and out, problems turned into readable errors. */
import { Readable } from 'node:stream';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Problem {
  title?: string;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}

export class ApiClient {
  constructor(readonly base: string) {}

  url(pathname: string): string {
    return new URL(pathname, this.base.endsWith('/') ? this.base : `${this.base}/`).toString();
  }

  async request(method: string, pathname: string, init: { json?: unknown; body?: Readable; contentType?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    let body: RequestInit['body'];
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.body) {
      headers['content-type'] = init.contentType ?? 'application/octet-stream';
      body = Readable.toWeb(init.body) as unknown as RequestInit['body'];
    }
    let res: Response;
    try {
      res = await fetch(this.url(pathname), { method, headers, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
    } catch (err) {
      throw new ApiError(0, `no service answers at ${this.base} (${(err as Error).cause ?? (err as Error).message})`);
    }
    if (res.status >= 400) throw new ApiError(res.status, await describeProblem(res));
    return res;
  }

  async json<T>(method: string, pathname: string, init?: { json?: unknown; body?: Readable; contentType?: string }): Promise<T> {
    return (await (await this.request(method, pathname, init)).json()) as T;
  }
}

async function describeProblem(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as Problem;
    const fields = p.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    return `HTTP ${res.status} ${p.title ?? ''}${fields ? ` (${fields})` : p.detail ? `: ${p.detail}` : ''}`.trim();
  } catch {
    return `HTTP ${res.status}: ${text.slice(0, 300)}`;
  }
}
