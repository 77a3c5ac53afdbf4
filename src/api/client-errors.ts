/**
 * Which thrown errors are the client's mistake, and the problem that tells them so. Parsers (body-parser,
 * the router's parameter decoding, zlib under body-parser) throw 4xx errors with their own wording and
 * sometimes internals; the client gets a fixed, safe detail instead, and the operator no stack.
 */
import { STATUS_CODES } from 'node:http';
import { ProblemError } from './problem.js';

interface ThrownHttpError {
  type?: string;
  status?: number;
  statusCode?: number;
  code?: string;
  message?: string;
  name?: string;
}

const bodyField = (message: string) => [{ field: 'body', message }];

/** body-parser errors carry a `type`; map them to problems that name the body. */
function fromBodyParser(err: ThrownHttpError): ProblemError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ProblemError(400, 'Invalid JSON', `request body is not valid JSON: ${err.message}`, bodyField('invalid JSON'));
    case 'entity.too.large':
      return new ProblemError(413, 'Payload Too Large', 'request body is too large (after decompression)', bodyField('too large'));
    case 'encoding.unsupported':
      return new ProblemError(415, 'Unsupported Media Type', 'unsupported Content-Encoding: send identity, gzip, deflate or br', bodyField('unsupported encoding'));
    case 'charset.unsupported':
      return new ProblemError(415, 'Unsupported Media Type', 'unsupported charset: send UTF-8', bodyField('unsupported charset'));
    case 'request.size.invalid':
      return new ProblemError(400, 'Bad Request', 'request body size did not match Content-Length', bodyField('truncated'));
    default:
      return undefined;
  }
}

/** zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR; brotli's ERR__ERROR_FORMAT_…): a body that does not decode as its Content-Encoding says. */
const isDecodingError = (err: ThrownHttpError) => typeof err.code === 'string' && /^(Z_|ERR__|ERR_BROTLI)/.test(err.code);

export function clientProblem(err: unknown): ProblemError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as ThrownHttpError;
  const status = e.status ?? e.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  const known = fromBodyParser(e);
  if (known) return known;
  if (e.name === 'URIError') return new ProblemError(400, 'Bad Request', 'the path contains a malformed percent-escape', [{ field: 'path', message: 'malformed percent-escape' }]);
  if (isDecodingError(e)) return new ProblemError(400, 'Bad Request', 'request body does not decode with its Content-Encoding', bodyField('corrupt encoding'));
  return new ProblemError(status, STATUS_CODES[status] ?? 'Bad Request');
}
