/**
 * The JavaScript half of our unix datagram addon (`native/unix-dgram/unix_dgram.c`, loaded with
 * node-gyp-build from `prebuilds/` or a local node-gyp build; docs/decisions.md).
 *
 * {@link openDgramSocket} wraps one non-blocking `AF_UNIX`/`SOCK_DGRAM` socket. Every readiness
 * event drains the socket with `recvmmsg` into a fixed arena shared with the addon, then calls
 * `onDatagram` once per datagram with a **reused** Buffer view of its slot and the sender's
 * address as an **interned** string: in the steady state nothing is allocated per datagram.
 *
 * Replies to the datagrams of a batch can be staged with `reply()` (copied into a second arena
 * shared with the addon) and leave together, with one `sendmmsg`, when the batch has been handled:
 * one crossing between JavaScript and C per batch instead of one per reply.
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { unavailable } from './errors.ts';

/** Flags the addon sets per datagram. */
export const DatagramFlags = {
  /** The sender's credentials are not admitted; the payload must not be used. */
  REJECTED: 1,
  /** Longer than a receive slot: truncated. */
  TRUNCATED: 8,
  /** Sent from an unbound socket: no address to reply to. */
  UNNAMED: 16,
} as const;
const F_NEWADDR = 2;
const F_RESET = 4;

/** Credentials of a datagram's sender (−1 when unknown: credentials not requested). */
export interface Sender {
  uid: number;
  gid: number;
  pid: number;
}

/**
 * Called once per received datagram. `buf` is a view of a receive slot, valid only during the
 * call (copy it to keep it). `from` is the sender's path, `'\0name'` for an abstract address, or
 * '' for an unnamed sender. `flags` holds {@link DatagramFlags}; `sender` is overwritten for the
 * next datagram.
 */
export type DatagramHandler = (buf: Buffer, from: string, flags: number, sender: Readonly<Sender>) => void;

/** Options of {@link openDgramSocket}. */
export interface DgramOptions {
  /** Ask for every sender's credentials and filter by uid/gid (SO_PASSCRED). */
  passCred?: boolean;
  /** Send buffer bytes to request (SO_SNDBUFFORCE when permitted, else capped by wmem_max). */
  sndbuf?: number;
  /** Receive buffer bytes to request. */
  rcvbuf?: number;
}

/** One open socket. Send results are 0 or a negative errno. */
export interface DgramSocket {
  readonly fd: number;
  /** The send buffer the kernel granted (bytes). */
  readonly sndbuf: number;
  /** Bind to a path or `'\0name'`: 0 or −errno. A path's file is created with mode 0600. */
  bind(addr: string): number;
  /** connect(): 0 or −errno. */
  connect(addr: string): number;
  /**
   * Send one datagram without blocking: 0, −EAGAIN (that receiver's queue is full), −ENOBUFS
   * (our own send buffer is full: wait for `onWritable`), or another −errno.
   */
  sendto(buf: Uint8Array, addr: string, offset?: number, length?: number): number;
  /** Besides `uid` 0 and our own, admit these uids and gids (with `passCred`). */
  allow(uids: readonly number[], gids: readonly number[]): void;
  /** Call `fn` once, the next time our send buffer has room. */
  onWritable(fn: () => void): void;
  /** Called with a negative errno when receiving fails. */
  onRecvError(fn: (errno: number) => void): void;
  /**
   * Stage `msg` as a reply when `to` is the sender of the datagram being delivered (only from
   * inside the datagram handler); it is sent, with the batch's other replies, when the handler
   * has seen the whole batch, or at `flushReplies()`. False when it cannot be staged (another
   * destination, not inside the handler, longer than a reply slot, all reply slots taken):
   * `flushReplies()` then, and send it with `sendto`.
   */
  reply(msg: Uint8Array, to: string): boolean;
  /** Replies staged and not yet sent. */
  readonly staged: number;
  /** Send the staged replies now. */
  flushReplies(): void;
  /**
   * Where staged replies that could not be sent go, in order, with their destination (`buf` is
   * valid only during the call). The addon stops sending to a destination at its first failure
   * in a batch, so what comes here is that destination's unsent tail, ready to be queued.
   */
  onUnsent(fn: (buf: Buffer, to: string) => void): void;
  close(): void;
}

/** A destination watcher: its callback fires once the destination's queue has room. */
export interface Probe {
  /** Wait again. */
  arm(): void;
  close(): void;
}

interface NativeSocket {
  handle: object;
  fd: number;
  arena: ArrayBuffer;
  meta: ArrayBuffer;
  addrs: ArrayBuffer;
  slots: number;
  slotSize: number;
  addrMax: number;
  metaFields: number;
  sndbuf: number;
  out: ArrayBuffer;
  outMeta: ArrayBuffer;
  outSlots: number;
  outSlotSize: number;
  outFields: number;
}

/** The addon's functions (a C addon, typed here). */
interface Addon {
  create(
    onBatch: (n: number) => number,
    onWritable: () => void,
    passCred: boolean,
    sndbuf: number,
    rcvbuf: number,
    onUnsent: (n: number) => void,
  ): NativeSocket | number;
  bind(h: object, addr: string): number;
  connect(h: object, addr: string): number;
  sendto(h: object, buf: Uint8Array, offset: number, length: number, addr: string): number;
  flush(h: object, count: number): number;
  setWritable(h: object, on: boolean): void;
  allow(h: object, uids: Int32Array, gids: Int32Array): void;
  close(h: object): void;
  probe(addr: string, cb: (status: number) => void): object | number;
  probeArm(p: object): void;
  probeClose(p: object): void;
}

let addon: Addon | null = null;

/** Load the addon once; IPC_UNAVAILABLE if there is neither a prebuild nor a local build. */
export function unixAddon(): Addon {
  if (addon !== null) return addon;
  try {
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (dir: string) => Addon;
    addon = load(fileURLToPath(new URL('../..', import.meta.url)));
    return addon;
  } catch (err) {
    throw unavailable(
      'the unix datagram addon is not available: no prebuild for this platform and no local build ' +
        '(run `npm rebuild portus` or `npx node-gyp rebuild` in the package; needs python3, make, cc)',
      err,
    );
  }
}

/** Create a socket whose datagrams go to `onDatagram`. */
export function openDgramSocket(onDatagram: DatagramHandler, opts: DgramOptions = {}): DgramSocket {
  const a = unixAddon();
  let writable: (() => void) | null = null;
  let recvError: (errno: number) => void = () => {};
  let unsent: (buf: Buffer, to: string) => void = () => {};
  let handle: object | null = null;
  let views: Buffer[] = [];
  const names: (string | undefined)[] = [];
  const sender: Sender = { uid: -1, gid: -1, pid: -1 };
  /** The receive slot being delivered (−1 outside the handler) and its sender's address. */
  let current = -1;
  let currentFrom = '';
  /** Staged replies: their destinations' addresses (for the failure path). */
  let staged = 0;
  const stagedTo: string[] = [];

  /** What the addon reports after sending `n` staged replies: hand back the ones not sent. */
  const unsentReplies = (n: number): void => {
    if (n < 0) return recvError(n); // staged metadata out of range: cannot happen
    const fields = native.outFields;
    for (let k = 0; k < n; k++) {
      if (outMeta[k * fields + 2] === 0) continue;
      const len = outMeta[k * fields]!;
      unsent(Buffer.from(native.out, k * native.outSlotSize, len), stagedTo[k]!);
    }
  };

  const flushReplies = (): void => {
    const n = staged;
    if (n === 0 || handle === null) return;
    staged = 0;
    const r = a.flush(handle, n);
    if (r !== 0) unsentReplies(r < 0 ? r : n);
  };

  /** One received batch; returns the number of replies staged, which the addon then sends. */
  const onBatch = (n: number): number => {
    if (n < 0) {
      recvError(n);
      return 0;
    }
    const fields = native.metaFields;
    for (let i = 0; i < n; i++) {
      const m = i * fields;
      const len = meta[m]!;
      const flags = meta[m + 1]!;
      sender.uid = meta[m + 2]!;
      sender.gid = meta[m + 3]!;
      sender.pid = meta[m + 4]!;
      if ((flags & F_RESET) !== 0) names.length = 0;
      let from = '';
      const id = meta[m + 5]!;
      if (id >= 0) {
        let name = names[id];
        if ((flags & F_NEWADDR) !== 0 || name === undefined) {
          const off = i * native.addrMax;
          name = addrBytes.toString('utf8', off, off + meta[m + 6]!);
          names[id] = name;
        }
        from = name;
      }
      let view = views[i]!;
      if (view.length !== len) {
        // datagrams of one kind have one size: a slot's view is re-made only when the size changes
        view = Buffer.from(native.arena, i * native.slotSize, Math.min(len, native.slotSize));
        views[i] = view;
      }
      current = i;
      currentFrom = from;
      try {
        onDatagram(view, from, flags, sender);
      } catch (err) {
        current = -1;
        flushReplies(); // what the batch staged so far leaves now: after a throw the addon gets no count
        throw err;
      } finally {
        current = -1;
      }
      if (handle === null) return 0; // closed by the handler (which sent what was staged)
    }
    const k = staged;
    staged = 0;
    return k;
  };
  const onWritable = (): void => {
    const fn = writable;
    writable = null;
    fn?.();
  };
  const r = a.create(
    onBatch,
    onWritable,
    opts.passCred === true,
    opts.sndbuf ?? 0,
    opts.rcvbuf ?? 0,
    unsentReplies,
  );
  if (typeof r === 'number') throw unavailable(`cannot create a unix datagram socket: errno ${-r}`);
  // used by onBatch, which runs only from the event loop, after this function returned
  const native: NativeSocket = r;
  const meta = new Int32Array(r.meta);
  const addrBytes = Buffer.from(r.addrs);
  const out = new Uint8Array(r.out);
  const outMeta = new Int32Array(r.outMeta);
  handle = r.handle;
  views = Array.from({ length: r.slots }, (_, i) => Buffer.from(r.arena, i * r.slotSize, 0));
  const h = r.handle;

  return {
    fd: r.fd,
    sndbuf: r.sndbuf,
    bind: (addr) => a.bind(h, addr),
    connect: (addr) => a.connect(h, addr),
    sendto: (buf, addr, offset = 0, length = buf.length - offset) =>
      handle === null ? -9 : a.sendto(h, buf, offset, length, addr),
    allow: (uids, gids) => a.allow(h, Int32Array.from(uids), Int32Array.from(gids)),
    onWritable(fn) {
      writable = fn;
      if (handle !== null) a.setWritable(h, true);
    },
    onRecvError(fn) {
      recvError = fn;
    },
    reply(msg, to) {
      if (current < 0 || to !== currentFrom || staged === r.outSlots || msg.length > r.outSlotSize) {
        return false;
      }
      const k = staged++;
      out.set(msg, k * r.outSlotSize);
      outMeta[k * r.outFields] = msg.length;
      outMeta[k * r.outFields + 1] = current;
      stagedTo[k] = currentFrom;
      return true;
    },
    get staged() {
      return staged;
    },
    flushReplies,
    onUnsent(fn) {
      unsent = fn;
    },
    close() {
      if (handle === null) return;
      flushReplies();
      handle = null;
      a.close(h);
    },
  };
}

/**
 * Watch `addr`: `fn` is called once it can take a datagram (or once it is gone; the next send
 * then fails). Returns a negative errno if `addr` has no live socket (ENOENT, ECONNREFUSED...).
 */
export function openProbe(addr: string, fn: () => void): Probe | number {
  const a = unixAddon();
  const p = a.probe(addr, () => {
    if (open) fn();
  });
  if (typeof p === 'number') return p;
  let open = true;
  return {
    arm: () => {
      if (open) a.probeArm(p);
    },
    close: () => {
      if (!open) return;
      open = false;
      a.probeClose(p);
    },
  };
}
