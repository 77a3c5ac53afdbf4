/** The CLI's HTTP client for the scrapeds API: base URL, bearer key, problem+json errors turned into messages. */
import { fetch, type Response } from 'undici';

/** A failure the CLI reports in one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ApiOptions {
  api: string;
  apiKey?: string;
}

interface Problem {
  title?: string;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}

export class ApiClient {
  readonly base: string;

  constructor(private readonly options: ApiOptions) {
    this.base = options.api.replace(/\/+$/, '');
  }

  /** An absolute URL for a path the API answered with (shard and file URLs may be relative or absolute). */
  resolve(pathOrUrl: string): string {
    return new URL(pathOrUrl, `${this.base}/`).toString();
  }

  async request(method: string, path: string, init: { body?: unknown; contentType?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/x-ndjson', ...init.headers };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let body: unknown;
    if (init.body !== undefined) {
      headers['content-type'] = init.contentType ?? 'application/json';
      body = init.contentType ? init.body : JSON.stringify(init.body);
    }
    // A path is the API's own (under --api, which may have a path prefix); a full URL came from an answer.
    const url = /^https?:\/\//.test(path) ? path : `${this.base}${path}`;
    let res: Response;
    try {
      // duplex 'half' lets an async iterable body (a streamed NDJSON upload) go out as it is read.
      res = await fetch(url, { method, headers, body: body as string, duplex: 'half' } as Parameters<typeof fetch>[1]);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`no service answers at ${this.base} (${cause?.code ?? cause?.message ?? (err as Error).message}); start it with: npm start`);
    }
    if (!res.ok) throw await problemError(res, method, path);
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body === undefined ? {} : { body });
    return (await res.json()) as T;
  }
}

async function problemError(res: Response, method: string, path: string): Promise<CliError> {
  const text = await res.text().catch(() => '');
  let p: Problem = {};
  try {
    p = JSON.parse(text) as Problem;
  } catch {
    p = { detail: text.slice(0, 500) };
  }
  const fields = p.errors?.length ? `: ${p.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}` : p.detail ? `: ${p.detail}` : '';
  return new CliError(`${method} ${path} answered ${res.status} ${p.title ?? res.statusText}${fields}`);
}
