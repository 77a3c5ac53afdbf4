/** Reads a URL list (one URL a line, or NDJSON objects with `url`) and yields it as an NDJSON upload body. */
import fs from 'node:fs';
import readline from 'node:readline';
import { CliError } from './api-client.js';

export function openInput(file: string): NodeJS.ReadableStream {
  if (file === '-') return process.stdin;
  if (!fs.existsSync(file)) throw new CliError(`no such file: ${file}`);
  return fs.createReadStream(file);
}

/**
 * One output line per input line, blank and `#` comment lines kept as blank lines, so the line numbers
 * the API names in a 400 are the numbers of the user's file.
 */
export async function* ndjsonBody(input: NodeJS.ReadableStream): AsyncGenerator<Uint8Array> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let chunk = '';
  for await (const raw of lines) {
    const line = raw.trim();
    chunk += (line === '' || line.startsWith('#') ? '' : line.startsWith('{') ? line : JSON.stringify({ url: line })) + '\n';
    if (chunk.length >= 64 * 1024) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  if (chunk) yield Buffer.from(chunk);
}
