/** Distance between two 64-bit hashes written as 16 hex digits (perceptual hashes, SimHashes). */

const HEX64 = /^[0-9a-f]{16}$/i;

/** Set bits in a 32-bit integer. */
export function popcount32(x: number): number {
  let v = x >>> 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The number of differing bits, 0..64. Throws on anything but two 16-digit hex strings. */
export function hamming(a: string, b: string): number {
  if (!HEX64.test(a) || !HEX64.test(b)) throw new TypeError('hamming() takes two 64-bit hashes as 16 hex digits');
  const hi = parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16);
  const lo = parseInt(a.slice(8), 16) ^ parseInt(b.slice(8), 16);
  return popcount32(hi) + popcount32(lo);
}

/** 64 bits (most significant first) → 16 hex digits. */
export function bitsToHex(bits: ArrayLike<number>): string {
  let hex = '';
  for (let i = 0; i < 64; i += 4) hex += ((bits[i]! << 3) | (bits[i + 1]! << 2) | (bits[i + 2]! << 1) | bits[i + 3]!).toString(16);
  return hex;
}
