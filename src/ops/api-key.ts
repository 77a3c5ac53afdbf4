/** Plain API keys: how they are made, recognised and hashed for storage. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sk_';
/** 32 random bytes in base64url: 43 characters. */
const KEY_FORMAT = /^sk_[A-Za-z0-9_-]{43}$/;

/** A new plain key with 256 bits of entropy; shown to its owner once, never stored. */
export function newPlainKey(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export const isWellFormedKey = (key: string): boolean => KEY_FORMAT.test(key);

/**
 * sha256, not a slow password hash: the key is 256 random bits, so there is no dictionary to try and
 * nothing for bcrypt/argon2 to slow down; a fast hash keeps the per-request check in microseconds, and
 * a leaked table still yields no usable key.
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Constant-time equality of two keys (compares their hashes, so the lengths always match). */
export function sameKey(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashKey(a), 'hex'), Buffer.from(hashKey(b), 'hex'));
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** Whether the header carries exactly `token` (constant time). */
export const carriesToken = (header: string | undefined, token: string): boolean => {
  const given = bearerToken(header);
  return given !== undefined && sameKey(given, token);
};
