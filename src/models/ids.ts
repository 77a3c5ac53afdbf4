/** Ids and opaque cursors shared by the store adapters. */
import { randomBytes } from 'node:crypto';
import { InvalidCursorError } from './task-store.js';

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit ms timestamp, a 12-bit counter (RFC method 1, seeded randomly each ms)
 * and 62 random bits. Ids made by one process sort in creation order even within one millisecond;
 * the random bits keep them unguessable. Returns the id and the ms it encodes (its creation time).
 */
export function newIdWithTime(now: number = Date.now()): { id: string; ms: number } {
  if (now > lastMs) {
    lastMs = now;
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff; // leave headroom before overflow
  } else if (++counter > 0xfff) {
    // 4096 ids in one ms, or the clock went back: borrow the next ms so order still holds.
    lastMs += 1;
    counter = 0;
  }
  const b = randomBytes(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString('hex');
  return {
    id: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
    ms: lastMs,
  };
}

export function newId(): string {
  return newIdWithTime().id;
}

/** Opaque cursor: base64url of a JSON value. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Reads a cursor made by encodeCursor; anything else throws InvalidCursorError. */
export function decodeCursor(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw new InvalidCursorError();
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    throw new InvalidCursorError();
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Cursor of a task list: the (createdAt, id) of the last task on the page. */
export function encodeTaskCursor(createdAt: string, id: string): string {
  return encodeCursor([createdAt, id]);
}

export function decodeTaskCursor(cursor: string): { createdAt: string; id: string } {
  const v = decodeCursor(cursor);
  if (!Array.isArray(v) || v.length !== 2) throw new InvalidCursorError();
  const [createdAt, id] = v as unknown[];
  if (typeof createdAt !== 'string' || !ISO.test(createdAt) || typeof id !== 'string' || id.length === 0 || id.length > 200) {
    throw new InvalidCursorError();
  }
  return { createdAt, id };
}

/** Cursor of a task's image list: the position of the last image on the page. */
export function encodePositionCursor(position: number): string {
  return encodeCursor({ p: position });
}

export function decodePositionCursor(cursor: string): number {
  const v = decodeCursor(cursor);
  const p = typeof v === 'object' && v !== null ? (v as { p?: unknown }).p : undefined;
  if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) throw new InvalidCursorError();
  return p;
}
