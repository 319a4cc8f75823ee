/**
 * Unix-domain datagram transport (spec ipc.md §1) on our native addon (`./unix-native.ts`).
 * The agent binds a path (default `/tmp/ccp/portus`) or an abstract address (`'\0name'`); each
 * datagram's sender address is the datapath's address and the reply address.
 *
 * Security (docs/ipc.md): the socket file gets an explicit mode (0600 by default) whatever the
 * umask; an unsafe socket directory is refused; every datagram carries its sender's credentials
 * (SO_PASSCRED) and only our own uid, root and the allowed uids/gids are served.
 *
 * Back-pressure: a send that finds a receiver's queue full (EAGAIN) keeps the message, in order,
 * in that destination's backlog and waits — on the event loop, not on timers — for that receiver
 * to read (a connect()ed probe socket polled for POLLOUT) or for our own send buffer to drain.
 * A destination whose backlog exceeds `maxBacklog` is dropped (one log line, `onPeerGone`); every
 * other destination keeps being served.
 * @module
 */
import { chmodSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { ErrorCodes, PortusError } from '../errors.ts';
import type { Address, PeerGoneHandler, ReceiveHandler, Transport } from './types.ts';
import { errnoName, sendError, unavailable } from './errors.ts';
import { ByteQueue } from './byte-queue.ts';
import { DatagramFlags, openDgramSocket, openProbe, type Probe, type Sender } from './unix-native.ts';
import { checkAddress, isAbstract, prepareBindPath } from './unix-path.ts';

export { unsafeDirectory } from './unix-path.ts';

/** Default agent socket path (portus' `start!` and the Python bindings use it). */
export const DEFAULT_UNIX_PATH = '/tmp/ccp/portus';
/** Default mode of the socket file: only its owner may send to it. */
export const DEFAULT_SOCKET_MODE = 0o600;
/** Default send buffer requested (bytes): room for the queues of thousands of slow peers. */
export const DEFAULT_SNDBUF = 32 << 20;

const { EAGAIN, ENOBUFS, ENOENT, ECONNREFUSED, EPERM } = osConstants.errno;
/** One log line per rejected uid per this many ms. */
const REJECT_LOG_INTERVAL_MS = 60_000;
/** Destinations waiting at once (each holds one probe socket) before new ones are dropped. */
const MAX_WAITING = 4096;
/** Idle destinations whose queue and probe are kept for reuse. */
const MAX_IDLE_DESTS = 1024;

/** Options of {@link openUnix}. */
export interface UnixOptions {
  /** Address to bind: a path (default `/tmp/ccp/portus`; its directory is created with mode 0700) or `'\0name'`. */
  path?: string;
  /** Default destination for `send(msg, '')` (e.g. a datapath's path). */
  peer?: string;
  /**
   * Messages kept per destination while its receive queue is full (default 4096). A destination
   * whose backlog would exceed it is dropped (reported through `onError` and `onPeerGone`).
   */
  maxBacklog?: number;
  /** Besides root and our own uid, uids whose datagrams are accepted. */
  allowUids?: readonly number[];
  /** Gids whose datagrams are accepted (a sender's primary gid). */
  allowGids?: readonly number[];
  /** Mode of the socket file (default 0o600), set explicitly whatever the umask. */
  socketMode?: number;
  /** Send buffer to request in bytes (default 32 MiB; above `net.core.wmem_max` only as root). */
  sndbuf?: number;
}

/** A raw unix datagram socket (used by tests and benchmarks as a peer). */
export interface RawUnixSocket {
  readonly fd: number;
  /** Send one datagram; returns 0 or a negative errno. */
  sendto(buf: Uint8Array, path: string): number;
  close(): void;
}

/**
 * Create a non-blocking unix datagram socket, optionally bound to `path`, whose datagrams go to
 * `onRecv(status, buf, from)` (status < 0 is a negative errno; `from` null for unnamed senders;
 * `buf` is valid only during the call). No credential filtering.
 */
export function rawUnixSocket(
  onRecv: (status: number, buf: Buffer | null, from: string | null) => void,
  path?: string,
): RawUnixSocket {
  const s = openDgramSocket((buf, from) => onRecv(0, buf, from === '' ? null : from));
  s.onRecvError((errno) => onRecv(errno, null, null));
  if (path !== undefined) {
    const err = s.bind(path);
    if (err < 0) {
      s.close();
      throw unavailable(`cannot bind unix socket ${JSON.stringify(path)}: ${errnoName(err)}`);
    }
  }
  return { fd: s.fd, sendto: (buf, to) => s.sendto(buf, to), close: () => s.close() };
}

const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(bytes < 1 << 20 ? 2 : 0)} MiB`;

/**
 * The one line to log when the kernel granted a smaller send buffer than asked (an unprivileged
 * process is capped by `net.core.wmem_max`; Linux reports twice the size set), or null.
 */
export function checkSndbuf(asked: number, granted: number): string | null {
  if (asked <= 0 || granted >= asked) return null;
  let max = '';
  try {
    max = ` = ${readFileSync('/proc/sys/net/core/wmem_max', 'utf8').trim()}`;
  } catch {
    // not Linux procfs: say which sysctl without its value
  }
  return (
    `unix socket send buffer: asked for ${mib(asked)}, got ${mib(granted)} (capped by ` +
    `net.core.wmem_max${max}): fewer replies to slow datapaths can wait in it; raise the cap ` +
    `(sysctl -w net.core.wmem_max=${asked}) or run the agent as root`
  );
}

/** A destination that had to wait at least once: its queue and its probe, both kept for reuse. */
interface Dest {
  readonly addr: string;
  readonly queue: ByteQueue;
  /** Watches the destination's receive queue (a connect()ed socket), or null. */
  probe: Probe | null;
  /** The probe fired and nothing was sent since (a second EAGAIN then means it is stale). */
  woken: boolean;
}

const describe = (err: number): string => {
  const name = errnoName(err);
  return -err === ENOENT || -err === ECONNREFUSED
    ? `${name} (no socket is bound there: the datapath is gone?)`
    : name;
};

const show = (addr: string): string => (isAbstract(addr) ? `@${addr.slice(1)}` : addr);

/**
 * Open the agent's unix datagram transport bound at `opts.path` (default `/tmp/ccp/portus`).
 * Received datagrams are delivered with the sender's address; `send(msg, to)` sends one datagram
 * to `to` (or to `opts.peer` when `to` is '').
 * @throws PortusError(IPC_UNAVAILABLE) when the addon is missing, the directory is unsafe, the path
 *   is in use by a live socket or is not a socket, or binding is not permitted.
 */
export async function openUnix(opts: UnixOptions = {}): Promise<Transport> {
  const path = opts.path ?? DEFAULT_UNIX_PATH;
  checkAddress(path, 'socket path');
  if (opts.peer !== undefined) checkAddress(opts.peer, 'peer path');
  const mode = opts.socketMode ?? DEFAULT_SOCKET_MODE;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw unavailable(`socket mode ${String(mode)} is not a permission mode (0 to 0o777)`);
  }
  if (!isAbstract(path)) prepareBindPath(path);

  let handler: ReceiveHandler | null = null;
  let errorHandler: ((err: Error) => void) | null = null;
  const goneHandlers: PeerGoneHandler[] = [];
  const report = (err: Error): void => {
    if (errorHandler !== null) errorHandler(err);
    else process.emitWarning(err.message, 'PortusIpcWarning');
  };

  // one log line per rejected uid per interval (bounded map)
  const rejectedAt = new Map<number, { at: number; suppressed: number }>();
  const reject = (sender: Readonly<Sender>, from: string): void => {
    const now = Date.now();
    const seen = rejectedAt.get(sender.uid);
    if (seen !== undefined && now - seen.at < REJECT_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    if (rejectedAt.size >= 1024) rejectedAt.clear();
    const more =
      seen !== undefined && seen.suppressed > 0 ? ` (${seen.suppressed} more since the last report)` : '';
    rejectedAt.set(sender.uid, { at: now, suppressed: 0 });
    report(
      new PortusError(
        ErrorCodes.IPC_PEER,
        `rejected datagrams from uid ${sender.uid} (gid ${sender.gid}, pid ${sender.pid}, address ` +
          `${show(from) || 'unnamed'})${more}: only root, uid ${process.geteuid?.() ?? '?'} and the ` +
          `allowed uids/gids (--allow-uid/--allow-gid) may talk to the agent`,
      ),
    );
  };

  // destinations dropped (backlog overflow, socket gone): sends to them are discarded until they talk again
  const dropped = new Set<string>();

  const sock = openDgramSocket(
    (buf, from, flags, sender) => {
      if (flags !== 0) {
        if ((flags & DatagramFlags.REJECTED) !== 0) return reject(sender, from);
        if ((flags & DatagramFlags.UNNAMED) !== 0) {
          return report(
            new PortusError(
              ErrorCodes.IPC_PEER,
              `dropped a datagram from an unnamed sender (pid ${sender.pid}): it has no reply address; bind the datapath's socket first`,
            ),
          );
        }
        if ((flags & DatagramFlags.TRUNCATED) !== 0) {
          return report(
            new PortusError(ErrorCodes.IPC_PEER, `dropped an oversized datagram from ${show(from)}`),
          );
        }
      }
      if (buf.length === 0 || handler === null) return;
      if (dropped.size > 0) dropped.delete(from); // it is reading and talking again
      try {
        handler(buf, from);
      } catch (err) {
        report(err as Error); // never let a handler exception escape into the native callback
      }
    },
    { passCred: true, sndbuf: opts.sndbuf ?? DEFAULT_SNDBUF },
  );
  sock.onRecvError((errno) => report(unavailable(`unix socket receive failed: ${errnoName(errno)}`)));
  const sndbufWarning = checkSndbuf(opts.sndbuf ?? DEFAULT_SNDBUF, sock.sndbuf);
  if (sndbufWarning !== null) process.emitWarning(sndbufWarning, 'PortusIpcWarning');
  if (opts.allowUids !== undefined || opts.allowGids !== undefined) {
    sock.allow(opts.allowUids ?? [], opts.allowGids ?? []);
  }
  const bindErr = sock.bind(path);
  if (bindErr < 0) {
    sock.close();
    const name = errnoName(bindErr);
    const why = name === 'EACCES' ? ' (permission denied)' : name === 'EADDRINUSE' ? ' (address in use)' : '';
    throw unavailable(`cannot bind unix socket ${show(path)}: ${name}${why}`);
  }
  let ino = -1;
  if (!isAbstract(path)) {
    chmodSync(path, mode);
    ino = lstatSync(path).ino;
  }
  let closed = false;

  const dests = new Map<string, Dest>();
  /** Destinations with messages waiting. */
  let waitingCount = 0;
  const bufferWaiters = new Set<Dest>();
  const maxBacklog = opts.maxBacklog ?? 4096;

  const forget = (d: Dest): void => {
    if (d.queue.count > 0) waitingCount--;
    d.queue.clear();
    d.probe?.close();
    d.probe = null;
    dests.delete(d.addr);
    bufferWaiters.delete(d);
  };

  const dropDestination = (d: Dest, reason: string): void => {
    const lost = d.queue.count;
    forget(d);
    if (dropped.size >= 4096) dropped.clear();
    dropped.add(d.addr);
    report(sendError(`dropped datapath ${show(d.addr)}: ${reason}; ${lost} waiting messages discarded`));
    for (const h of goneHandlers) h(d.addr, reason);
  };

  /**
   * Its socket is gone (or refuses): discard what waits, with one error report. Not a peer-gone
   * event: a restarted datapath may already be binding the same address again.
   */
  const discard = (d: Dest, why: string): void => {
    const lost = d.queue.count;
    forget(d);
    report(sendError(`cannot send to ${show(d.addr)}: ${why}; ${lost} waiting messages discarded`));
  };

  const destFor = (addr: string): Dest => {
    let d = dests.get(addr);
    if (d !== undefined) return d;
    if (dests.size >= MAX_IDLE_DESTS + waitingCount) {
      for (const old of dests.values()) if (old.queue.count === 0) forget(old);
    }
    d = { addr, queue: new ByteQueue(), probe: null, woken: false };
    dests.set(addr, d);
    return d;
  };

  const flushBufferWaiters = (): void => {
    const ds = [...bufferWaiters];
    bufferWaiters.clear();
    for (const d of ds) flush(d);
  };

  /** Send what waits for `d`, in order, until the receiver (or our buffer) is full again. */
  const flush = (d: Dest): void => {
    if (closed) return;
    const q = d.queue;
    while (q.count > 0) {
      const err = sock.sendto(q.buf, d.addr, q.headOffset(), q.headLength());
      if (err === 0) {
        q.shift();
        d.woken = false;
        continue;
      }
      if (-err === EAGAIN) {
        if (d.probe !== null && !d.woken) return d.probe.arm();
        // no probe yet, or it fired without room: it may watch a socket that was replaced
        d.probe?.close();
        const p = openProbe(d.addr, () => {
          d.woken = true;
          flush(d);
        });
        d.probe = null;
        d.woken = false;
        if (typeof p === 'number') {
          // EPERM: the destination is connect()ed to us, so Linux never applies its queue limit
          // to us and only our own send buffer can be full: wait for that
          if (-p !== EPERM) return discard(d, describe(p));
          bufferWaiters.add(d);
          sock.onWritable(flushBufferWaiters);
          return;
        }
        d.probe = p;
        return;
      }
      if (-err === ENOBUFS) {
        bufferWaiters.add(d);
        sock.onWritable(flushBufferWaiters);
        return;
      }
      return discard(d, describe(err));
    }
    waitingCount--;
  };

  /** Send one message at once, or queue it behind its destination's full receive queue. */
  const sendNow = (msg: Uint8Array, dest: string): void => {
    const err = sock.sendto(msg, dest);
    if (err === 0) return;
    if (-err === EAGAIN || -err === ENOBUFS) {
      const d = destFor(dest);
      if (waitingCount >= MAX_WAITING) {
        return dropDestination(d, `${MAX_WAITING} other datapaths are already not reading`);
      }
      d.queue.push(msg);
      waitingCount++;
      flush(d); // sets up the wait (probe or send-buffer writability)
      return;
    }
    throw sendError(`cannot send to ${show(dest)}: ${describe(err)}`);
  };

  /**
   * Queue `msg` behind its destination's waiting messages, or discard it (a dropped destination):
   * true when it was taken care of that way.
   */
  const held = (msg: Uint8Array, dest: string): boolean => {
    if (waitingCount > 0) {
      const d = dests.get(dest);
      if (d !== undefined && d.queue.count > 0) {
        // keep the order: earlier messages to this destination are still waiting
        if (d.queue.count >= maxBacklog) {
          dropDestination(d, `more than ${maxBacklog} messages waiting (it is not reading)`);
        } else d.queue.push(msg);
        return true;
      }
    }
    return dropped.size > 0 && dropped.has(dest); // dropped: its flows are gone
  };

  /**
   * Where a message goes: behind its destination's waiting messages, nowhere (a dropped
   * destination), staged with the batch's replies (`mayStage`), or out at once.
   */
  const deliver = (msg: Uint8Array, dest: string, mayStage: boolean): void => {
    if (held(msg, dest)) return;
    // a reply to the datagram being handled leaves with the batch's other replies (sendmmsg)
    if (mayStage && sock.reply(msg, dest)) return;
    if (sock.staged > 0) {
      sock.flushReplies(); // staged replies (perhaps to `dest`) leave first: per-destination order
      if (held(msg, dest)) return; // the flush left `dest` waiting
    }
    sendNow(msg, dest);
  };

  // staged replies the batch could not send (that receiver's queue is full, or it is gone): each
  // destination's unsent tail, in order, goes the way of any other message
  sock.onUnsent((buf, to) => {
    if (closed) return;
    try {
      deliver(buf, to, false);
    } catch (err) {
      report(err as Error);
    }
  });

  const transport: Transport = {
    kind: 'unix',
    send(msg: Uint8Array, to: Address): void {
      if (closed) throw sendError('unix transport is closed');
      const dest = to === '' ? opts.peer : to;
      if (dest === undefined || dest === '') throw sendError('no destination address (and no default peer)');
      deliver(msg, dest, true);
    },
    drain(timeoutMs: number): Promise<number> {
      const queued = (): number => {
        let n = 0;
        for (const d of dests.values()) n += d.queue.count;
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
    onPeerGone(h: PeerGoneHandler): void {
      goneHandlers.push(h);
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const d of dests.values()) d.probe?.close();
      dests.clear();
      bufferWaiters.clear();
      sock.close();
      if (ino >= 0) {
        try {
          if (lstatSync(path).ino === ino) unlinkSync(path); // only our own socket file
        } catch {
          // already removed
        }
      }
      return Promise.resolve();
    },
  };
  return transport;
}
