/**
 * MEASURE (type 1, datapath → agent, 16 + 8·n bytes; spec wire-protocol §5), including the
 * zero-allocation accessors the agent's hot path uses.
 * @module
 */
import type { MeasureMsg } from './types.ts';
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
  u16,
  u32,
  u64,
  u64Number,
} from './header.ts';

/**
 * Check MEASURE's layout: `Len` = 16 + 8·n with n ≤ 110 (libccp's report buffer). `num_fields`
 * is not cross-checked (portus decodes the fields from `Len`). Never allocates.
 */
export function checkMeasure(_buf: Uint8Array, off: number, len: number): string | null {
  if (len < Sizes.MEASURE_PREFIX || (len - Sizes.MEASURE_PREFIX) % 8 !== 0) {
    return fail('bad-length', off + 2, `MEASURE Len must be 16 + 8·n, got ${len}`);
  }
  if ((len - Sizes.MEASURE_PREFIX) / 8 > Limits.MEASURE_FIELDS) {
    return fail('too-many-fields', off + 2, `MEASURE carries more than ${Limits.MEASURE_FIELDS} fields`);
  }
  return null;
}

/** Decode a MEASURE whose layout passed {@link checkMeasure}. Fields are exact u64 bigints. */
export function decodeMeasure(buf: Uint8Array, off: number): MeasureMsg {
  const n = measureFieldCount(buf, off);
  const fields = new Array<bigint>(n);
  for (let i = 0; i < n; i++) fields[i] = u64(buf, off + 16 + 8 * i);
  return {
    type: MsgType.MEASURE,
    sid: u32(buf, off + 4),
    programUid: u32(buf, off + 8),
    numFields: u32(buf, off + 12),
    fields,
  };
}

/**
 * Encode MEASURE. `num_fields` is `fields.length` unless `numFields` is given (decoded messages
 * keep the value as sent). A MEASURE with no fields and uid 0 is the close message.
 * @throws PortusError(ENCODE) for more than 110 fields or out-of-range values.
 */
export function encodeMeasure(
  sid: number,
  programUid: number,
  fields: ArrayLike<bigint | number>,
  out?: Buffer,
  numFields: number = fields.length,
): Buffer {
  checkUint('SocketId', sid, 32);
  checkUint('program_uid', programUid, 32);
  checkUint('num_fields', numFields, 32);
  const n = fields.length;
  if (n > Limits.MEASURE_FIELDS)
    encodeError(`MEASURE cannot carry ${n} fields (limit ${Limits.MEASURE_FIELDS})`);
  for (let i = 0; i < n; i++) checkU64('value', fields[i]!, 'field', i);
  const len = Sizes.MEASURE_PREFIX + 8 * n;
  const b = outBuffer(len, out);
  putHeader(b, 0, MsgType.MEASURE, len, sid);
  putU32(b, 8, programUid);
  putU32(b, 12, numFields);
  for (let i = 0; i < n; i++) putU64(b, 16 + 8 * i, fields[i]!);
  return out === undefined ? b : b.subarray(0, len);
}

// ---------------------------------------------------------------------------------------------
// Zero-allocation accessors. They assume the message at `off` was framed and layout-checked
// (forEachMessage does both); they never allocate and never read past the array.

/** `program_uid` of the MEASURE at `off`. */
export function measureProgramUid(buf: Uint8Array, off: number): number {
  return u32(buf, off + 8);
}

/** `num_fields` (u32, as sent) of the MEASURE at `off`; 0 means close (spec §5). */
export function measureNumFields(buf: Uint8Array, off: number): number {
  return u32(buf, off + 12);
}

/** Number of fields carried, from `Len`: (Len − 16) / 8, as portus decodes it. */
export function measureFieldCount(buf: Uint8Array, off: number): number {
  const len = u16(buf, off + 2);
  return len < Sizes.MEASURE_PREFIX ? 0 : (len - Sizes.MEASURE_PREFIX) >>> 3;
}

/** Field `i` as a number: exact below 2^53, the nearest double above. */
export function measureField(buf: Uint8Array, off: number, i: number): number {
  return u64Number(buf, off + 16 + 8 * i);
}

/** Field `i` as an exact u64 bigint. */
export function measureFieldBig(buf: Uint8Array, off: number, i: number): bigint {
  return u64(buf, off + 16 + 8 * i);
}
