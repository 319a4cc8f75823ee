/**
 * Character-device transport for ccp-kernel built with `IPC=1` (spec ipc.md §4, legacy):
 * `/dev/ccpkp`, opened once read-write and non-blocking.
 *
 * - Agent → kernel: one `write()` per CCP message; messages over 512 bytes (one device block)
 *   are refused with PortusError(IPC_SEND).
 * - Kernel → agent: a `read()` returns one or more whole messages concatenated, and may exceed
 *   the requested size by up to one message, so reads ask for 1024 bytes into a 1536-byte buffer.
 *   The buffer is passed on whole (split it with `forEachMessage`).
 * - The driver implements no `poll`, and a blocking read cannot be interrupted, so the transport
 *   never blocks: it reads non-blocking (the device returns 0 when empty; a FIFO stand-in
 *   returns EAGAIN) and polls — immediately again after data, backing off to `pollMs` when idle.
 *
 * Test stand-in: pass `writePath` to read from `path` and write to `writePath` (two FIFOs made
 * with `mkfifo`); a test plays the kernel on the other ends. See docs/ipc.md.
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { Address, ReceiveHandler, Transport } from './types.ts';
import { codeOf, sendError, unavailable } from './errors.ts';

/** Default device path (created by `ccp_kernel_load ipc=1`). */
export const DEFAULT_CHAR_DEVICE = '/dev/ccpkp';
/** Address every message from the device is attributed to. */
export const CHAR_DEVICE_ADDRESS = 'char';
/** One device block: the largest message one write may carry. */
export const CHAR_MAX_WRITE = 512;
/** Bytes requested per read. */
const READ_REQUEST = 1024;

/** Options of {@link openCharDevice}. */
export interface CharDeviceOptions {
  /** Device to read (and write) (default `/dev/ccpkp`). */
  path?: string;
  /** Write to this file instead of `path` (a FIFO pair stands in for the device in tests). */
  writePath?: string;
  /** Longest idle poll interval in ms (default 4). */
  pollMs?: number;
}

function openFd(path: string): number {
  try {
    return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    const code = codeOf(err);
    const why =
      code === 'ENOENT'
        ? 'not found — load ccp-kernel with the character device (`ccp_kernel_load ipc=1`)'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied — run as root or join the device group (staff/wheel)'
          : code === 'ENXIO' || code === 'ENODEV'
            ? 'no driver behind the device node — is the ccp-kernel module (IPC=1) loaded?'
            : code || (err as Error).message;
    throw unavailable(`cannot open ${path}: ${why}`, err);
  }
}

/**
 * Open the character-device transport.
 * @throws PortusError(IPC_UNAVAILABLE) when the device is missing, not permitted, or not a
 *   character device / FIFO.
 */
export async function openCharDevice(opts: CharDeviceOptions = {}): Promise<Transport> {
  const path = opts.path ?? DEFAULT_CHAR_DEVICE;
  const maxPoll = Math.max(1, opts.pollMs ?? 4);
  const rfd = openFd(path);
  let wfd = rfd;
  try {
    const st = fstatSync(rfd);
    if (!st.isCharacterDevice() && !st.isFIFO()) {
      throw unavailable(`${path} is neither a character device nor a FIFO stand-in`);
    }
    if (opts.writePath !== undefined) wfd = openFd(opts.writePath);
  } catch (err) {
    closeSync(rfd);
    throw err;
  }

  let handler: ReceiveHandler | null = null;
  let errorHandler: ((err: Error) => void) | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let idle = 0;
  const buf = Buffer.alloc(READ_REQUEST + CHAR_MAX_WRITE);
  const report = (err: Error): void => {
    if (errorHandler !== null) errorHandler(err);
    else process.emitWarning(err.message, 'PortusIpcWarning');
  };

  const poll = (): void => {
    timer = null;
    immediate = null;
    if (closed) return;
    let n = 0;
    try {
      n = readSync(rfd, buf, 0, READ_REQUEST, null);
    } catch (err) {
      if (codeOf(err) !== 'EAGAIN')
        report(sendError(`read from ${path} failed: ${codeOf(err) || (err as Error).message}`, err));
    }
    if (n > 0) {
      idle = 0;
      // Hand over a copy: the read buffer is reused by the next poll.
      if (handler !== null) {
        try {
          handler(Buffer.from(buf.subarray(0, n)), CHAR_DEVICE_ADDRESS);
        } catch (err) {
          report(err as Error); // a throwing handler must not stop the polling
        }
      }
      if (!closed) immediate = setImmediate(poll);
    } else {
      idle = Math.min(maxPoll, idle + 1);
      timer = setTimeout(poll, idle);
    }
  };
  immediate = setImmediate(poll);

  return {
    kind: 'char',
    send(msg: Uint8Array, _to: Address): void {
      if (closed) throw sendError('character device transport is closed');
      if (msg.length > CHAR_MAX_WRITE) {
        throw sendError(`a ${msg.length}-byte message exceeds the device's ${CHAR_MAX_WRITE}-byte block`);
      }
      let n: number;
      try {
        n = writeSync(wfd, msg);
      } catch (err) {
        throw sendError(`write to the device failed: ${codeOf(err) || (err as Error).message}`, err);
      }
      if (n !== msg.length) throw sendError(`the device accepted ${n} of ${msg.length} bytes (queue full)`);
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
        if (timer !== null) clearTimeout(timer);
        if (immediate !== null) clearImmediate(immediate);
        closeSync(rfd);
        if (wfd !== rfd) closeSync(wfd);
      }
      return Promise.resolve();
    },
  };
}
