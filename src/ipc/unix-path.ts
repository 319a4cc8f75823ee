/**
 * Where the unix transport binds: address checks, the socket directory's safety, and stale
 * socket files (docs/ipc.md, "Security model").
 * @module
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { unavailable } from './errors.ts';
import { openDgramSocket } from './unix-native.ts';

/** `sizeof(sun_path) − 1` on Linux (a pathname needs its terminating NUL). */
export const MAX_PATH_BYTES = 107;

/** True for an abstract-namespace address (`'\0name'`). */
export const isAbstract = (addr: string): boolean => addr.charCodeAt(0) === 0;

/** Throw IPC_UNAVAILABLE unless `addr` is a usable pathname or abstract address. */
export function checkAddress(addr: string, what: string): void {
  if (typeof addr !== 'string' || addr.length === 0) throw unavailable(`${what} must be a non-empty path`);
  const max = isAbstract(addr) ? MAX_PATH_BYTES + 1 : MAX_PATH_BYTES;
  if (Buffer.byteLength(addr) > max) {
    throw unavailable(`${what} ${JSON.stringify(addr)} is longer than ${max} bytes (the sun_path limit)`);
  }
  if (isAbstract(addr) && addr.length < 2) throw unavailable(`${what}: an abstract address needs a name`);
}

/** True if a socket is bound and receiving at `path` (probe with connect()). */
function socketInUse(path: string): boolean {
  const s = openDgramSocket(() => {});
  try {
    return s.connect(path) === 0;
  } finally {
    s.close();
  }
}

/**
 * Why an existing socket directory is unsafe, or null: owned by another (non-root) user, or
 * writable by group/others without the sticky bit (they could replace the socket).
 */
export function unsafeDirectory(st: { uid: number; mode: number }): string | null {
  const me = process.geteuid?.() ?? st.uid;
  if (st.uid !== me && st.uid !== 0) return `is owned by another user (uid ${st.uid})`;
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return 'is writable by other users';
  return null;
}

/**
 * Prepare `path` for binding: create its directory with mode 0700 if missing (only that one
 * level, like portus); refuse an unsafe existing directory, a non-socket file, or a socket
 * another process is bound to; remove a stale socket file.
 * @throws PortusError(IPC_UNAVAILABLE) with the reason.
 */
export function prepareBindPath(path: string): void {
  const dir = dirname(path);
  let dirStat;
  try {
    dirStat = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw unavailable(`cannot access ${dir}: ${(err as Error).message}`, err);
    }
  }
  if (dirStat === undefined) {
    try {
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700); // the umask may have removed bits; make the mode exact
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw unavailable(`cannot create the socket directory ${dir}: ${(err as Error).message}`, err);
      }
      dirStat = lstatSync(dir); // created meanwhile by someone else: check it like any other
    }
  }
  if (dirStat !== undefined) {
    if (!dirStat.isDirectory()) throw unavailable(`${dir} exists and is not a directory`);
    const why = unsafeDirectory(dirStat);
    if (why !== null) {
      throw unavailable(
        `refusing to use the socket directory ${dir}: it ${why}, so that user could replace the ` +
          `agent's socket and receive datapaths' messages. Use a directory you own (mode 0700) or fix it ` +
          `(e.g. chown/chmod 0700 ${dir})`,
      );
    }
  }
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw unavailable(`${path} exists and is not a socket; refusing to remove it`);
  if (socketInUse(path)) throw unavailable(`${path} is in use by another process (another agent running?)`);
  try {
    unlinkSync(path);
  } catch (err) {
    throw unavailable(`cannot remove the stale socket ${path}: ${(err as Error).message}`, err);
  }
}
