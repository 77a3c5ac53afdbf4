/** Bytes of an HTML page → text, choosing the encoding the way browsers do. */
import { isUtf8 } from 'node:buffer';
import { decodeBuffer } from 'encoding-sniffer';
import { ResultType, Sniffer } from 'encoding-sniffer/sniffer';

/** The `charset` parameter of a Content-Type header. */
export function charsetOf(contentTypeHeader: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentTypeHeader ?? '');
  return match?.[1] ?? (match?.[2] || undefined);
}

/**
 * WHATWG encoding sniffing: BOM, then the HTTP charset, then <meta charset> / http-equiv in the first 1024
 * bytes. When nothing declares an encoding the spec lets us guess: bytes that are valid UTF-8 are taken as
 * UTF-8 (most undeclared pages today), anything else as windows-1252.
 */
export function decodeHtml(body: Buffer, contentTypeHeader?: string): string {
  const transportLayerEncodingLabel = charsetOf(contentTypeHeader);
  const sniffer = new Sniffer({ transportLayerEncodingLabel });
  sniffer.write(body);
  const declared = sniffer.resultType !== ResultType.DEFAULT;
  const defaultEncoding = declared || !isUtf8(body) ? 'windows-1252' : 'utf-8';
  return decodeBuffer(body, { transportLayerEncodingLabel, defaultEncoding });
}
