/**
 * POSIX ustar entries, written by hand so every byte is ours to fix: mtime 0, uid/gid 0, no user names,
 * mode 0644. The same files in the same order give the same archive.
 */

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** The fields every header shares (mode, owner, mtime, type, magic), checksum field as spaces. */
const TEMPLATE = (() => {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii'); // the checksum counts its own field as spaces
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  return h;
})();
const TEMPLATE_SUM = TEMPLATE.reduce((sum, byte) => sum + byte, 0);

/** The header block of a regular file; `name` must fit in 100 bytes (our sample names are short). */
export function tarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new RangeError(`tar entry name too long: ${name}`);
  if (size >= 8 ** 11) throw new RangeError(`tar entry too large: ${size} bytes`);
  const h = Buffer.allocUnsafe(BLOCK);
  TEMPLATE.copy(h);
  // Only the name and size differ: the checksum is the template's plus theirs.
  const nameEnd = h.write(name, 0, 100, 'utf8');
  const sizeEnd = 124 + h.write(octal(size, 12), 124, 'ascii');
  let sum = TEMPLATE_SUM;
  for (let i = 0; i < nameEnd; i++) sum += h[i] as number;
  for (let i = 124; i < sizeEnd; i++) sum += (h[i] as number) - (TEMPLATE[i] as number);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Zero bytes that bring an entry of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest, 0);
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2, 0);
