/**
 * A minimal writer of the cpio "newc" format the kernel unpacks as an initramfs (no external
 * `cpio` needed on the host).
 * @module
 */

/** One archive member; directories have mode 0o40xxx and no data. */
export interface CpioEntry {
  path: string;
  mode: number;
  data?: Buffer;
}

function header(ino: number, mode: number, size: number, nameLen: number): string {
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return '070701' + [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameLen, 0].map(hex).join('');
}

const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

/** Build a newc archive of `entries` followed by the trailer. */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    off += b.length;
  };
  const all = [...entries, { path: 'TRAILER!!!', mode: 0 }];
  all.forEach((e, i) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(e.path + '\0');
    push(Buffer.from(header(i + 1, e.mode, data.length, name.length), 'ascii'));
    push(name);
    push(pad4(off));
    push(data);
    push(pad4(off));
  });
  return Buffer.concat(parts);
}
