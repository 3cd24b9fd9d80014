/**
 * The smallest ustar writer the install archive needs: regular files only, relative names, the
 * mode and mtime we give (so the host's copies carry the local mtimes), uid/gid 0. Written here
 * rather than by the local `tar` so the archive is the same bytes on every machine (GNU and BSD tar
 * differ) and the names can differ from the local paths.
 */

const BLOCK = 512;

function octal(n: number, width: number): string {
  // width - 1 digits and a NUL, as POSIX ustar has it
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** ustar keeps names in a 100-byte name and a 155-byte prefix, split at a slash. */
function splitName(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  throw new Error(`tar: the path ${name} is too long for a ustar archive`);
}

/** The 512-byte header of one regular file. */
export function tarHeader(name: string, size: number, mode: number, mtimeSec: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const n = splitName(name);
  h.write(n.name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.max(0, Math.floor(mtimeSec)), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(n.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** Zero bytes that round a member's data up to whole blocks. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Two zero blocks: the end of the archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);
