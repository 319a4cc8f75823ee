/**
 * CHANGE_PROG (type 4, agent → datapath, 16 + 13·n bytes; spec wire-protocol §8).
 * @module
 */
import type { ChangeProgMsg } from './types.ts';
import { MsgType } from './types.ts';
import { Limits, Sizes, checkUint, encodeError, fail, outBuffer, putHeader, putU32, u32 } from './header.ts';
import type { UpdateRecordInput } from './update-fields.ts';
import { checkUpdates, putUpdates, readUpdates } from './update-fields.ts';

/**
 * Check CHANGE_PROG's layout: the full u32 count ≤ 222 (as libccp checks it) and
 * `Len` = 16 + 13·count. Never allocates.
 */
export function checkChangeProg(buf: Uint8Array, off: number, len: number): string | null {
  if (len < Sizes.CHANGE_PROG_PREFIX) {
    return fail(
      'bad-length',
      off + 2,
      `CHANGE_PROG needs at least ${Sizes.CHANGE_PROG_PREFIX} bytes, Len is ${len}`,
    );
  }
  const n = u32(buf, off + 12);
  if (n > Limits.CHANGE_PROG_UPDATES) {
    return fail('too-many-updates', off + 12, `CHANGE_PROG count ${n} exceeds ${Limits.CHANGE_PROG_UPDATES}`);
  }
  if (len !== Sizes.CHANGE_PROG_PREFIX + Sizes.UPDATE_RECORD * n) {
    return fail(
      'bad-length',
      off + 2,
      `CHANGE_PROG with ${n} updates must be ${Sizes.CHANGE_PROG_PREFIX + Sizes.UPDATE_RECORD * n} bytes, Len is ${len}`,
    );
  }
  return null;
}

/** Decode a CHANGE_PROG whose layout passed {@link checkChangeProg}. */
export function decodeChangeProg(buf: Uint8Array, off: number): ChangeProgMsg {
  return {
    type: MsgType.CHANGE_PROG,
    sid: u32(buf, off + 4),
    programUid: u32(buf, off + 8),
    updates: readUpdates(buf, off + Sizes.CHANGE_PROG_PREFIX, u32(buf, off + 12)),
  };
}

/**
 * Encode CHANGE_PROG: switch flow `sid` to program `programUid`, then apply `updates`.
 * With `out`, writes into it and returns the subarray.
 * @throws PortusError(ENCODE) for more than 222 updates or values that do not fit.
 */
export function encodeChangeProg(
  sid: number,
  programUid: number,
  updates: ArrayLike<UpdateRecordInput>,
  out?: Buffer,
): Buffer {
  checkUint('SocketId', sid, 32);
  checkUint('program_uid', programUid, 32);
  const n = updates.length;
  if (n > Limits.CHANGE_PROG_UPDATES) {
    encodeError(`CHANGE_PROG cannot carry ${n} updates (limit ${Limits.CHANGE_PROG_UPDATES})`);
  }
  checkUpdates(updates);
  const len = Sizes.CHANGE_PROG_PREFIX + Sizes.UPDATE_RECORD * n;
  const b = outBuffer(len, out);
  putHeader(b, 0, MsgType.CHANGE_PROG, len, sid);
  putU32(b, 8, programUid);
  putU32(b, 12, n);
  putUpdates(b, Sizes.CHANGE_PROG_PREFIX, updates);
  return out === undefined ? b : b.subarray(0, len);
}
