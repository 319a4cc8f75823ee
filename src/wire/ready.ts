/**
 * READY (type 5, datapath → agent, 12 bytes; spec wire-protocol §3).
 * @module
 */
import type { ReadyMsg } from './types.ts';
import { MsgType } from './types.ts';
import { Sizes, checkUint, fail, outBuffer, putHeader, putU32, u32 } from './header.ts';

/** Check READY's layout: `Len` must be 12. Returns an error kind, or null. Never allocates. */
export function checkReady(_buf: Uint8Array, off: number, len: number): string | null {
  if (len !== Sizes.READY)
    return fail('bad-length', off + 2, `READY must be ${Sizes.READY} bytes, Len is ${len}`);
  return null;
}

/** Decode a READY whose layout passed {@link checkReady}. */
export function decodeReady(buf: Uint8Array, off: number): ReadyMsg {
  return { type: MsgType.READY, sid: u32(buf, off + 4), id: u32(buf, off + 8) };
}

/**
 * Encode READY with datapath id `id` (u32). `sid` is 0 in every real READY.
 * @throws PortusError(ENCODE) if a value is out of range.
 */
export function encodeReady(id: number, sid = 0, out?: Buffer): Buffer {
  checkUint('READY id', id, 32);
  checkUint('SocketId', sid, 32);
  const b = outBuffer(Sizes.READY, out);
  putHeader(b, 0, MsgType.READY, Sizes.READY, sid);
  putU32(b, 8, id);
  return out === undefined ? b : b.subarray(0, Sizes.READY);
}
