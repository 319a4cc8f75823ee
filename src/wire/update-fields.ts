/**
 * UPDATE_FIELDS (type 3, agent → datapath, 12 + 13·n bytes; spec wire-protocol §7) and the
 * 13-byte update record it shares with CHANGE_PROG.
 * @module
 */
import type { UpdateFieldsMsg, UpdateRecord } from './types.ts';
import { MsgType } from './types.ts';
import {
  Limits,
  Sizes,
  checkU64,
  checkUint,
  encodeError,
  fail,
  outBuffer,
  putHeader,
  putU32,
  putU64,
  putU8,
  u32,
  u64,
} from './header.ts';

/**
 * An update record as the encoders accept it: like {@link UpdateRecord}, but `value` may also
 * be a non-negative safe integer, so the agent's hot path need not create bigints.
 */
export interface UpdateRecordInput {
  regType: number;
  regIndex: number;
  value: bigint | number;
}

/** Validate update records (u8 type, u32 index, u64 value). @throws PortusError(ENCODE) */
export function checkUpdates(updates: ArrayLike<UpdateRecordInput>): void {
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i]!;
    if (u === null || typeof u !== 'object') encodeError(`update ${i} is missing`);
    checkUint('reg_type', u.regType, 8, 'update', i);
    checkUint('reg_index', u.regIndex, 32, 'update', i);
    checkU64('value', u.value, 'update', i);
  }
}

/** Write `updates` as consecutive 13-byte records starting at `o`. */
export function putUpdates(b: Uint8Array, o: number, updates: ArrayLike<UpdateRecordInput>): void {
  for (let i = 0; i < updates.length; i++, o += Sizes.UPDATE_RECORD) {
    const u = updates[i]!;
    putU8(b, o, u.regType);
    putU32(b, o + 1, u.regIndex);
    putU64(b, o + 5, u.value);
  }
}

/** Read `n` 13-byte update records starting at `o` (bounds checked by the caller). */
export function readUpdates(buf: Uint8Array, o: number, n: number): UpdateRecord[] {
  const out = new Array<UpdateRecord>(n);
  for (let i = 0; i < n; i++, o += Sizes.UPDATE_RECORD) {
    out[i] = { regType: buf[o]!, regIndex: u32(buf, o + 1), value: u64(buf, o + 5) };
  }
  return out;
}

/**
 * The update count of the UPDATE_FIELDS at `off` exactly as libccp reads it (§7 count quirk):
 * only the byte at offset 8, sign-extended, so bytes 9–11 are ignored and a byte ≥ 0x80 reads as
 * a negative (huge) count. Returns −1 for such a count.
 */
export function updateFieldsCount(buf: Uint8Array, off: number): number {
  const c = buf[off + 8]!;
  return c >= 0x80 ? -1 : c;
}

/**
 * Check UPDATE_FIELDS's layout: count as libccp reads it (≤ 127) and `Len` = 12 + 13·count.
 * Never allocates.
 */
export function checkUpdateFields(buf: Uint8Array, off: number, len: number): string | null {
  if (len < Sizes.UPDATE_FIELDS_PREFIX) {
    return fail(
      'bad-length',
      off + 2,
      `UPDATE_FIELDS needs at least ${Sizes.UPDATE_FIELDS_PREFIX} bytes, Len is ${len}`,
    );
  }
  const n = updateFieldsCount(buf, off);
  if (n < 0) {
    return fail(
      'too-many-updates',
      off + 8,
      `UPDATE_FIELDS count byte 0x${buf[off + 8]!.toString(16)} reads as more than ${Limits.UPDATE_FIELDS_UPDATES}`,
    );
  }
  if (len !== Sizes.UPDATE_FIELDS_PREFIX + Sizes.UPDATE_RECORD * n) {
    return fail(
      'bad-length',
      off + 2,
      `UPDATE_FIELDS with ${n} updates must be ${Sizes.UPDATE_FIELDS_PREFIX + Sizes.UPDATE_RECORD * n} bytes, Len is ${len}`,
    );
  }
  return null;
}

/** Decode an UPDATE_FIELDS whose layout passed {@link checkUpdateFields}. */
export function decodeUpdateFields(buf: Uint8Array, off: number): UpdateFieldsMsg {
  const n = updateFieldsCount(buf, off);
  return {
    type: MsgType.UPDATE_FIELDS,
    sid: u32(buf, off + 4),
    updates: readUpdates(buf, off + Sizes.UPDATE_FIELDS_PREFIX, n),
  };
}

/**
 * Encode UPDATE_FIELDS for flow `sid`. With `out`, writes into it and returns the subarray.
 * @throws PortusError(ENCODE) for more than 127 updates (libccp's effective limit) or values
 *   that do not fit (u8 type, u32 index, u64 value).
 */
export function encodeUpdateFields(sid: number, updates: ArrayLike<UpdateRecordInput>, out?: Buffer): Buffer {
  checkUint('SocketId', sid, 32);
  const n = updates.length;
  if (n > Limits.UPDATE_FIELDS_UPDATES) {
    encodeError(
      `UPDATE_FIELDS cannot carry ${n} updates (libccp reads at most ${Limits.UPDATE_FIELDS_UPDATES})`,
    );
  }
  checkUpdates(updates);
  const len = Sizes.UPDATE_FIELDS_PREFIX + Sizes.UPDATE_RECORD * n;
  const b = outBuffer(len, out);
  putHeader(b, 0, MsgType.UPDATE_FIELDS, len, sid);
  putU32(b, 8, n);
  putUpdates(b, Sizes.UPDATE_FIELDS_PREFIX, updates);
  return out === undefined ? b : b.subarray(0, len);
}
