/**
 * Unsigned 64-bit values as the machine holds them: exact doubles below 2^53, BigInt beyond.
 * @module
 */

export const TWO53 = 9007199254740992;
export const TWO32 = 4294967296;
export const U64 = 0xffffffffffffffffn;

/** A non-negative integer from a number field, as C converts to u64 (truncation); NaN/negative → 0. */
export function toU64(x: number): number {
  const v = Math.trunc(x);
  return v >= 0 ? v : 0;
}

/** A non-negative integer as a u64 BigInt; values ≥ 2^64 wrap as a u64 store would. */
export function bigOf(v: number): bigint {
  return v < TWO53 ? BigInt(v) : BigInt.asUintN(64, BigInt(v));
}

/** The low 32 bits of a u64 value (callbacks take u32, `datapath-machine.md` §4.3). */
export function low32(v: number | bigint): number {
  return typeof v === 'number' ? v % TWO32 : Number(v & 0xffffffffn);
}

/** The little-endian u32 at `b[o…o+3]`. */
export function u32at(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
