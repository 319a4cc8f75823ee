/**
 * The 8-byte common header (spec wire-protocol §2) and the little-endian byte helpers every
 * message codec uses. The helpers work on any `Uint8Array` (a `Buffer` is one), never allocate,
 * and never read outside the array: callers check bounds first (typed arrays return `undefined`
 * rather than reading out of bounds, which the checks make unreachable).
 * @module
 */
import { ErrorCodes, PortusError, WireError } from '../errors.ts';

/** Size of the common header in bytes. */
export const HEADER_SIZE = 8;
/** libccp's `BIGGEST_MSG_SIZE` (note: 32678, not 32768). No message may be longer. */
export const MAX_MSG_SIZE = 32678;

/** Fixed message sizes and per-record sizes (spec §2.1). */
export const Sizes = {
  READY: 12,
  CREATE: 96,
  MEASURE_PREFIX: 16,
  INSTALL_PREFIX: 20,
  EVENT_RECORD: 16,
  INSTRUCTION_RECORD: 16,
  UPDATE_FIELDS_PREFIX: 12,
  CHANGE_PROG_PREFIX: 16,
  UPDATE_RECORD: 13,
} as const;

/** Protocol limits the codecs enforce (spec §9; these are the agent's MUST limits). */
export const Limits = {
  /** libccp's report buffer holds at most 110 fields (`MAX_REPORT_REG`). */
  MEASURE_FIELDS: 110,
  /** Effective limit of UPDATE_FIELDS: libccp reads the count as a signed byte (§7 count quirk). */
  UPDATE_FIELDS_UPDATES: 127,
  /** `MAX_MUTABLE_REG`. */
  CHANGE_PROG_UPDATES: 222,
  /** libccp walks instructions with an 8-bit index (§6.7). */
  INSTRUCTIONS: 255,
  /** `MAX_EXPRESSIONS`. */
  EVENTS: 256,
  /** Bytes of the CREATE `congAlg` field. */
  CONG_ALG: 64,
} as const;

const TWO32 = 0x1_0000_0000;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** u16 little-endian at `o` (caller checked `o + 2 <= b.length`). */
export function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/** u32 little-endian at `o` (caller checked bounds). */
export function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
}

/** u64 little-endian at `o` as a number (exact below 2^53, nearest double above). */
export function u64Number(b: Uint8Array, o: number): number {
  return u32(b, o) + u32(b, o + 4) * TWO32;
}

/** u64 little-endian at `o`, exact. */
export function u64(b: Uint8Array, o: number): bigint {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** Write a u8. */
export function putU8(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
}

/** Write a u16 little-endian. */
export function putU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

/** Write a u32 little-endian. */
export function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** Write a u64 little-endian from a bigint or a non-negative safe integer (validated by caller). */
export function putU64(b: Uint8Array, o: number, v: bigint | number): void {
  if (typeof v === 'number') {
    putU32(b, o, v % TWO32);
    putU32(b, o + 4, Math.floor(v / TWO32));
  } else {
    putU32(b, o, Number(v & 0xffff_ffffn));
    putU32(b, o + 4, Number(v >> 32n));
  }
}

/** Write the common header. */
export function putHeader(b: Uint8Array, o: number, type: number, len: number, sid: number): void {
  putU16(b, o, type);
  putU16(b, o + 2, len);
  putU32(b, o + 4, sid);
}

/** Header `Type` (full u16) of the message at `off`. Caller framed the message. */
export function readType(buf: Uint8Array, off: number): number {
  return u16(buf, off);
}

/** Header `Len` of the message at `off`. */
export function readLen(buf: Uint8Array, off: number): number {
  return u16(buf, off + 2);
}

/** Header `SocketId` (u32) of the message at `off`. */
export function readSid(buf: Uint8Array, off: number): number {
  return u32(buf, off + 4);
}

// ---------------------------------------------------------------------------------------------
// Validation helpers shared by the encoders (they throw PortusError(ENCODE)).

/** Throw `PortusError(ENCODE)`. */
export function encodeError(message: string): never {
  throw new PortusError(ErrorCodes.ENCODE, message);
}

/** The field's name for an error message: `item index name`, or `name` (built on failure only). */
function label(name: string, item: string | undefined, index: number): string {
  return item === undefined ? name : `${item} ${index} ${name}`;
}

/**
 * Check that `v` is an integer in [0, 2^bits) for bits ≤ 32. `item`/`index` name the record
 * (e.g. 'update', 3) without building a string unless the check fails.
 */
export function checkUint(name: string, v: number, bits: 8 | 16 | 32, item?: string, index = 0): void {
  if (
    typeof v !== 'number' ||
    !(v >= 0 && v < (bits === 32 ? 0x1_0000_0000 : bits === 8 ? 0x100 : 0x1_0000)) ||
    !Number.isInteger(v)
  ) {
    encodeError(`${label(name, item, index)} must be an integer in [0, 2^${bits}), got ${String(v)}`);
  }
}

/** Check that `v` is a u64 (bigint in range, or a non-negative safe integer). */
export function checkU64(name: string, v: bigint | number, item?: string, index = 0): void {
  if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) encodeError(`${label(name, item, index)} must be a u64, got ${v}`);
  } else if (typeof v !== 'number' || !(v >= 0) || !Number.isSafeInteger(v)) {
    encodeError(
      `${label(name, item, index)} must be a u64 (bigint, or a non-negative safe integer), got ${String(v)}`,
    );
  }
}

/** Allocate the output buffer, or check and use the caller's `out`. */
export function outBuffer(len: number, out: Buffer | undefined): Buffer {
  if (len > MAX_MSG_SIZE) encodeError(`message of ${len} bytes exceeds the ${MAX_MSG_SIZE}-byte limit`);
  if (out === undefined) return Buffer.alloc(len);
  if (out.length < len) encodeError(`output buffer of ${out.length} bytes is too small for ${len} bytes`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers.

/** Construct a {@link WireError}. */
export function wireError(kind: string, message: string, offset: number): WireError {
  return new WireError(kind, message, offset);
}

/**
 * Where the last failed layout check found the fault (absolute byte offset). Set by the
 * `check*` functions together with their returned kind, so the checks need not allocate.
 */
export const fault = { at: 0, detail: '' };

/** Record a layout fault and return its kind (helper for the `check*` functions). */
export function fail(kind: string, at: number, detail: string): string {
  fault.at = at;
  fault.detail = detail;
  return kind;
}
