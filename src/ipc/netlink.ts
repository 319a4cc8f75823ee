/**
 * Netlink transport to ccp-kernel (spec ipc.md §2), on the `netlink` package's
 * `RawNetlinkSocket` (docs/decisions.md): protocol NETLINK_USERSOCK (2), bound to our own port
 * (the pid by default, as portus does), member of multicast group 22.
 *
 * Sending: each CCP message becomes one netlink message with the 16-byte header of §2.2
 * (`nlmsg_len` = 16 + n, type/flags/seq/pid 0, no padding), sent to port 0 (the kernel) or to
 * `peerPort` (tests). Receiving: every netlink message of a datagram whose sender is the peer
 * port is unwrapped by its `nlmsg_len`, and its payload passed on with the address 'netlink'.
 * @module
 */
import { createRequire } from 'node:module';
import type { Address, ReceiveHandler, Transport } from './types.ts';
import { codeOf, sendError, unavailable } from './errors.ts';

/** `NETLINK_USERSOCK`, the protocol ccp-kernel's netlink socket uses. */
export const NETLINK_USERSOCK = 2;
/** The multicast group ccp-kernel sends to. */
export const CCP_NETLINK_GROUP = 22;
/** The address every netlink message is attributed to (there is one kernel datapath). */
export const NETLINK_ADDRESS = 'netlink';
/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

const NLMSG_NOOP = 1;
const NLMSG_ERROR = 2;

/** Options of {@link openNetlink}. */
export interface NetlinkOptions {
  /** Multicast group to join (default 22). */
  group?: number;
  /** Netlink protocol (default 2, NETLINK_USERSOCK). */
  protocol?: number;
  /** Destination port of sent messages and the only accepted sender (default 0, the kernel). */
  peerPort?: number;
  /** Our own port (default: the pid, like portus; a free generated port if that is taken). */
  localPort?: number;
}

/** The part of the `netlink` package's RawNetlinkSocket this transport uses. */
export interface RawNetlink {
  on(event: 'message', fn: (msg: Buffer, rinfo: { port: number; groups: number }) => void): unknown;
  on(event: 'truncatedMessage', fn: (msg: Buffer, rinfo: { port: number }) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  send(msg: Uint8Array, options?: { port?: number; groups?: number }, cb?: (err?: Error) => void): void;
  addMembership(group: number): void;
  address(): { port: number; groups: number };
  close(): void;
}
type RawNetlinkCtor = new (protocol: number, options?: { localPort?: number }) => RawNetlink;

let ctor: RawNetlinkCtor | null = null;

/** Load `netlink`'s RawNetlinkSocket; IPC_UNAVAILABLE if the native module is missing. */
export function rawNetlinkSocketClass(): RawNetlinkCtor {
  if (ctor !== null) return ctor;
  try {
    const require = createRequire(import.meta.url);
    ctor = (require('netlink') as { RawNetlinkSocket: RawNetlinkCtor }).RawNetlinkSocket;
    return ctor;
  } catch (err) {
    throw unavailable('the netlink native module is not available (was `npm install` run?)', err);
  }
}

/** Frame one CCP message as a netlink message (ipc.md §2.2). Allocates the datagram. */
export function frameNetlink(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(NLMSG_HDRLEN + msg.length);
  out.writeUInt32LE(NLMSG_HDRLEN + msg.length, 0);
  out.fill(0, 4, NLMSG_HDRLEN); // type, flags, seq, pid all 0
  out.set(msg, NLMSG_HDRLEN);
  return out;
}

/**
 * Walk the netlink messages of a datagram: calls `fn(payload)` for each data message (not
 * NOOP/ERROR), delimited by `nlmsg_len` and 4-byte aligned. Returns false if a header is
 * malformed (the rest of the datagram is then ignored).
 */
export function forEachNetlinkPayload(buf: Buffer, fn: (payload: Buffer) => void): boolean {
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > buf.length - off) return false;
    const type = buf.readUInt16LE(off + 4);
    if (type !== NLMSG_NOOP && type !== NLMSG_ERROR && len > NLMSG_HDRLEN) {
      fn(buf.subarray(off + NLMSG_HDRLEN, off + len));
    }
    off += (len + 3) & ~3;
  }
  return off >= buf.length;
}

function explain(err: unknown, what: string): string {
  const code = codeOf(err);
  if (code === 'EPERM' || code === 'EACCES') {
    return `${what}: ${code} — joining a NETLINK_USERSOCK multicast group needs CAP_NET_ADMIN (run the agent as root)`;
  }
  if (code === 'EPROTONOSUPPORT' || code === 'EAFNOSUPPORT')
    return `${what}: ${code} — this kernel has no netlink support`;
  return `${what}: ${code || (err as Error).message}`;
}

/**
 * Open the netlink transport. Messages to the kernel fail with ECONNREFUSED (reported through
 * `onError`) while the ccp-kernel module is not loaded.
 * @throws PortusError(IPC_UNAVAILABLE) when the socket cannot be created or bound, or the group
 *   cannot be joined (not root).
 */
export async function openNetlink(opts: NetlinkOptions = {}): Promise<Transport> {
  const protocol = opts.protocol ?? NETLINK_USERSOCK;
  const group = opts.group ?? CCP_NETLINK_GROUP;
  const peerPort = opts.peerPort ?? 0;
  const Raw = rawNetlinkSocketClass();
  let sock: RawNetlink;
  try {
    if (opts.localPort !== undefined) {
      sock = new Raw(protocol, { localPort: opts.localPort });
    } else {
      try {
        sock = new Raw(protocol, { localPort: process.pid });
      } catch (err) {
        if (codeOf(err) !== 'EADDRINUSE') throw err;
        sock = new Raw(protocol);
      }
    }
  } catch (err) {
    throw unavailable(explain(err, `cannot open a netlink socket (protocol ${protocol})`), err);
  }
  try {
    sock.addMembership(group);
  } catch (err) {
    sock.close();
    throw unavailable(explain(err, `cannot join netlink multicast group ${group}`), err);
  }

  let handler: ReceiveHandler | null = null;
  let errorHandler: ((err: Error) => void) | null = null;
  let closed = false;
  const report = (err: Error): void => {
    if (errorHandler !== null) errorHandler(err);
    else process.emitWarning(err.message, 'PortusIpcWarning');
  };
  const deliver = (payload: Buffer): void => {
    if (handler === null) return;
    try {
      handler(payload, NETLINK_ADDRESS);
    } catch (err) {
      report(err as Error); // never let a handler exception escape into the native callback
    }
  };
  sock.on('message', (msg, rinfo) => {
    if (rinfo.port !== peerPort) return; // only the kernel (or the configured peer) is a datapath
    if (!forEachNetlinkPayload(msg, deliver)) report(new Error('dropped a malformed netlink datagram'));
  });
  sock.on('truncatedMessage', () => report(new Error('dropped a truncated netlink datagram')));
  sock.on('error', (err) => report(err));
  const onSent = (err?: Error): void => {
    if (err === undefined || closed) return;
    const code = codeOf(err);
    const hint =
      code === 'ECONNREFUSED' && peerPort === 0
        ? ' — no kernel socket for this netlink protocol: is the ccp-kernel module loaded?'
        : '';
    report(sendError(`netlink send failed: ${code || err.message}${hint}`, err));
  };

  return {
    kind: 'netlink',
    send(msg: Uint8Array, _to: Address): void {
      if (closed) throw sendError('netlink transport is closed');
      sock.send(frameNetlink(msg), { port: peerPort }, onSent);
    },
    onMessage(h: ReceiveHandler): void {
      handler = h;
    },
    onError(h: (err: Error) => void): void {
      errorHandler = h;
    },
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        sock.close();
      }
      return Promise.resolve();
    },
  };
}
