/**
 * Unix-domain datagram transport (spec ipc.md §1), on the `unix-dgram` native binding
 * (docs/decisions.md). The agent binds a path (default `/tmp/ccp/portus`); each datagram's
 * sender path is the datapath's address and the reply address.
 *
 * The binding's low-level functions are used directly (not its EventEmitter wrapper): receive
 * errors are then reported instead of crashing, and no per-datagram info object is built.
 * Binding limits: it reports only *pathname* sender addresses (a datagram from an unbound or
 * abstract-namespace sender arrives without an address and is dropped, as portus does), and it
 * cannot bind or send to abstract addresses. Paths are limited to 107 bytes.
 *
 * A unix datagram socket queues only `net.unix.max_dgram_qlen` (10) datagrams per receiver and the
 * binding's sockets are non-blocking, so a burst of sends to a busy receiver meets EAGAIN. `send`
 * then keeps the message (a copy) in a per-destination backlog, in order, and retries as the
 * receiver drains its queue; only a backlog over `maxBacklog` makes `send` throw.
 * @module
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import type { Address, ReceiveHandler, Transport } from './types.ts';
import { errnoName, sendError, unavailable } from './errors.ts';

/** Default agent socket path (portus' `start!` and the Python bindings use it). */
export const DEFAULT_UNIX_PATH = '/tmp/ccp/portus';
/** `sizeof(sun_path) − 1` on Linux. */
const MAX_PATH_BYTES = 107;
/** −EAGAIN as the binding returns it. */
const EAGAIN = -osConstants.errno.EAGAIN;

/** Options of {@link openUnix}. */
export interface UnixOptions {
  /** Path to bind (default `/tmp/ccp/portus`). Its directory is created with mode 0700. */
  path?: string;
  /** Default destination for `send(msg, '')` (e.g. a datapath's path). */
  peer?: string;
  /**
   * Messages kept per destination while its receive queue is full (default 4096). Beyond that,
   * `send` throws IPC_SEND.
   */
  maxBacklog?: number;
}

/** The unix-dgram native binding's functions (untyped C++ addon, typed here). */
interface UnixDgramBinding {
  AF_UNIX: number;
  SOCK_DGRAM: number;
  socket(
    domain: number,
    type: number,
    protocol: number,
    onRecv: (status: number, buf: Buffer | null, path: string | null) => void,
    onWritable: () => void,
  ): number;
  bind(fd: number, path: string): number;
  connect(fd: number, path: string): number;
  sendto(fd: number, buf: Buffer, offset: number, length: number, path: string): number;
  close(fd: number): number;
}

let binding: UnixDgramBinding | null = null;

/** Load the native binding once; IPC_UNAVAILABLE if it is missing or was not built. */
export function unixDgramBinding(): UnixDgramBinding {
  if (binding !== null) return binding;
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('unix-dgram/package.json'));
    binding = require(join(root, 'build', 'Release', 'unix_dgram.node')) as UnixDgramBinding;
    return binding;
  } catch (err) {
    throw unavailable(
      'the unix-dgram native binding is not available (was `npm install` run with its install script approved?)',
      err,
    );
  }
}

/** A raw unix datagram socket (used by the transport, the tests and the raw benchmark). */
export interface RawUnixSocket {
  readonly fd: number;
  /** Send one datagram; returns 0 or a negative errno. */
  sendto(buf: Buffer, path: string): number;
  close(): void;
}

/**
 * Create a non-blocking unix datagram socket, optionally bound to `path`, whose datagrams go to
 * `onRecv(status, buf, path)` (status < 0 is a negative errno; `path` null for unnamed senders).
 */
export function rawUnixSocket(
  onRecv: (status: number, buf: Buffer | null, path: string | null) => void,
  path?: string,
): RawUnixSocket {
  const b = unixDgramBinding();
  const fd = b.socket(b.AF_UNIX, b.SOCK_DGRAM, 0, onRecv, () => {});
  if (fd < 0) throw unavailable(`cannot create a unix datagram socket: ${errnoName(fd)}`);
  if (path !== undefined) {
    const err = b.bind(fd, path);
    if (err < 0) {
      b.close(fd);
      const why =
        errnoName(err) === 'EACCES'
          ? 'permission denied'
          : errnoName(err) === 'EADDRINUSE'
            ? 'path in use'
            : '';
      throw unavailable(`cannot bind unix socket ${path}: ${errnoName(err)}${why ? ` (${why})` : ''}`);
    }
  }
  let open = true;
  return {
    fd,
    sendto(buf: Buffer, to: string): number {
      return b.sendto(fd, buf, 0, buf.length, to);
    },
    close(): void {
      if (!open) return;
      open = false;
      b.close(fd);
    },
  };
}

function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || path.length === 0) throw unavailable(`${what} must be a non-empty path`);
  if (path.charCodeAt(0) === 0) {
    throw unavailable(
      `${what} ${JSON.stringify(path)}: abstract addresses are not supported by the unix-dgram binding`,
    );
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw unavailable(`${what} ${path} is longer than ${MAX_PATH_BYTES} bytes (the sun_path limit)`);
  }
}

/** True if a socket is bound and receiving at `path` (probe with connect()). */
function socketInUse(path: string): boolean {
  const b = unixDgramBinding();
  const fd = b.socket(
    b.AF_UNIX,
    b.SOCK_DGRAM,
    0,
    () => {},
    () => {},
  );
  if (fd < 0) return false;
  try {
    return b.connect(fd, path) === 0;
  } finally {
    b.close(fd);
  }
}

/**
 * Why an existing socket directory is unsafe, or null: owned by another (non-root) user, or
 * writable by group/others without the sticky bit (they could replace the socket).
 */
export function unsafeDirectory(st: { uid: number; mode: number }): string | null {
  const me = process.getuid?.() ?? st.uid;
  if (st.uid !== me && st.uid !== 0) return `is owned by another user (uid ${st.uid})`;
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return 'is writable by other users';
  return null;
}

/**
 * Prepare `path` for binding: create its directory with mode 0700 if missing (only that one
 * level, like portus), refuse a non-socket file or a socket another process is bound to, and
 * remove a stale socket file.
 */
function prepareBindPath(path: string): void {
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
    }
  } else if (!dirStat.isDirectory()) {
    throw unavailable(`${dir} exists and is not a directory`);
  } else {
    const warning = unsafeDirectory(dirStat);
    if (warning !== null) {
      process.emitWarning(
        `socket directory ${dir} ${warning}: other local users may forge or intercept reports`,
        'PortusIpcWarning',
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

/**
 * Open the agent's unix datagram transport bound at `opts.path` (default `/tmp/ccp/portus`).
 * Received datagrams are delivered with the sender's path as the address; `send(msg, to)` sends
 * one datagram to `to` (or to `opts.peer` when `to` is '').
 * @throws PortusError(IPC_UNAVAILABLE) when the binding is missing, the path is in use by a live
 *   socket or is not a socket, or binding is not permitted.
 */
export async function openUnix(opts: UnixOptions = {}): Promise<Transport> {
  const path = opts.path ?? DEFAULT_UNIX_PATH;
  checkPath(path, 'socket path');
  if (opts.peer !== undefined) checkPath(opts.peer, 'peer path');
  prepareBindPath(path);

  let handler: ReceiveHandler | null = null;
  let errorHandler: ((err: Error) => void) | null = null;
  const report = (err: Error): void => {
    if (errorHandler !== null) errorHandler(err);
    else process.emitWarning(err.message, 'PortusIpcWarning');
  };
  const onRecv = (status: number, buf: Buffer | null, from: string | null): void => {
    if (status < 0 || buf === null) {
      if (errnoName(status) !== 'EAGAIN')
        report(unavailable(`unix socket receive failed: ${errnoName(status)}`));
      return;
    }
    if (from === null) {
      report(new Error('dropped a datagram from an unnamed or abstract-address sender (no reply address)'));
      return;
    }
    if (buf.length === 0 || handler === null) return;
    try {
      handler(buf, from);
    } catch (err) {
      report(err as Error); // never let a handler exception escape into the native callback
    }
  };
  const sock = rawUnixSocket(onRecv, path);
  const ino = lstatSync(path).ino;
  let closed = false;

  // Messages waiting because a receiver's queue was full (EAGAIN), per destination, in order.
  const backlog = new Map<string, Buffer[]>();
  const maxBacklog = opts.maxBacklog ?? 4096;
  let flushTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let idleFlushes = 0;
  const describe = (err: number): string => {
    const name = errnoName(err);
    return name === 'ENOENT' || name === 'ECONNREFUSED'
      ? `${name} (no socket is bound there: the datapath is gone?)`
      : name;
  };
  const flush = (): void => {
    flushTimer = null;
    if (closed) return;
    let progress = false;
    for (const [dest, queue] of backlog) {
      while (queue.length > 0) {
        const err = sock.sendto(queue[0]!, dest);
        if (err === EAGAIN) break;
        queue.shift();
        progress = true;
        if (err < 0) {
          report(
            sendError(`cannot send to ${dest}: ${describe(err)}; ${queue.length} queued messages dropped`),
          );
          queue.length = 0;
        }
      }
      if (queue.length === 0) backlog.delete(dest);
    }
    if (backlog.size > 0) scheduleFlush(progress);
  };
  const scheduleFlush = (soon: boolean): void => {
    if (flushTimer !== null) return;
    idleFlushes = soon ? 0 : Math.min(idleFlushes + 1, 10);
    // retry at once while the receiver drains its queue, then back off to at most 10 ms
    flushTimer = idleFlushes === 0 ? setImmediate(flush) : setTimeout(flush, idleFlushes);
  };

  const transport: Transport = {
    kind: 'unix',
    send(msg: Uint8Array, to: Address): void {
      if (closed) throw sendError('unix transport is closed');
      const dest = to === '' ? opts.peer : to;
      if (dest === undefined || dest === '') throw sendError('no destination address (and no default peer)');
      if (dest.charCodeAt(0) === 0)
        throw sendError('abstract addresses are not supported by the unix-dgram binding');
      const buf = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
      const queue = backlog.get(dest);
      if (queue !== undefined) {
        // keep the order: earlier messages to this destination are still waiting
        if (queue.length >= maxBacklog) {
          throw sendError(
            `cannot send to ${dest}: ${maxBacklog} messages are already waiting (the datapath is not reading)`,
          );
        }
        queue.push(Buffer.from(buf));
        return;
      }
      const err = sock.sendto(buf, dest);
      if (err === 0) return;
      if (err === EAGAIN) {
        // the receiver's queue is full (net.unix.max_dgram_qlen, 10 by default): wait for it
        backlog.set(dest, [Buffer.from(buf)]);
        scheduleFlush(true);
        return;
      }
      throw sendError(`cannot send to ${dest}: ${describe(err)}`);
    },
    drain(timeoutMs: number): Promise<number> {
      const queued = (): number => {
        let n = 0;
        for (const q of backlog.values()) n += q.length;
        return n;
      };
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve) => {
        const check = (): void => {
          const n = closed ? 0 : queued();
          if (n === 0 || Date.now() >= deadline) resolve(n);
          else setTimeout(check, 1);
        };
        check();
      });
    },
    onMessage(h: ReceiveHandler): void {
      handler = h;
    },
    onError(h: (err: Error) => void): void {
      errorHandler = h;
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      if (flushTimer !== null) {
        clearTimeout(flushTimer as NodeJS.Timeout);
        clearImmediate(flushTimer as NodeJS.Immediate);
      }
      backlog.clear();
      sock.close();
      try {
        if (lstatSync(path).ino === ino) unlinkSync(path); // only our own socket file
      } catch {
        // already removed
      }
      return Promise.resolve();
    },
  };
  return transport;
}
