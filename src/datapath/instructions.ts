/**
 * Instruction semantics (`datapath-machine.md` §5): the interpreter for instruction ranges, in double
 * mode (exact while values stay below 2^53) and in BigInt mode (u64 arithmetic mod 2^64), and the
 * helpers the compiled fast path (`jit.ts`) shares with it.
 * @module
 */
import { Libccp } from './codes.ts';
import type { Conn } from './connection.ts';
import { MICROS_DST, STRIDE } from './program.ts';
import { MICROS } from './registers.ts';
import { TWO32, TWO53, U64 } from './u64.ts';

/** `runFast` result: an intermediate value reached 2^53; resume in BigInt mode at {@link deoptPc}. */
export const DEOPT = 1;

/** The instruction at which the last `runFast` returned DEOPT. */
export let deoptPc = 0;

/** A Micros write from compiled code (§5.2: it also restarts the Micros clock). */
export function microsWrite(c: Conn, v: number, now: () => number): void {
  c.tzNow = now();
  c.tzV = v;
  c.tzIsBig = false;
  c.r[MICROS] = v;
}

/** MAXWRAP on exact doubles (both operands below 2^53). */
export function maxwrapDouble(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return maxwrap32(a % TWO32, b % TWO32);
}

function maxwrap32(a32: number, b32: number): number {
  // dif32(left, right) from libccp machine.c
  const ltr = b32 > a32 ? b32 - a32 : 0xffffffff - a32 + b32;
  const rtl = a32 > b32 ? a32 - b32 : 0xffffffff - b32 + a32;
  return rtl < ltr ? a32 : b32;
}

/**
 * Run instructions [from, to) in double mode. Returns 0, a libccp error, or DEOPT (with `deoptPc`).
 * A Micros write also restarts the connection's Micros clock.
 */
export function runFast(
  r: Float64Array,
  code: Int32Array,
  from: number,
  to: number,
  c: Conn,
  now: () => number,
): number {
  for (let pc = from; pc < to; pc++) {
    const k = pc * STRIDE;
    const op = code[k]!;
    const a = r[code[k + 2]!]!;
    const b = r[code[k + 3]!]!;
    let v: number;
    switch (op) {
      case 0: // ADD
        v = a + b;
        if (v >= TWO53) {
          deoptPc = pc;
          return DEOPT;
        }
        break;
      case 1: // BIND
        v = b;
        break;
      case 2: // DEF
        continue;
      case 3: // DIV
        if (b === 0) return Libccp.DIV_BY_ZERO;
        v = (a - (a % b)) / b;
        break;
      case 4: // EQUIV
        v = a === b ? 1 : 0;
        break;
      case 5: {
        // EWMA
        const t = r[code[k + 4]!]!;
        if (t === 0) v = b;
        else {
          if (a > 10) {
            deoptPc = pc;
            return DEOPT;
          }
          const num = a * t + (10 - a) * b;
          if (num >= TWO53) {
            deoptPc = pc;
            return DEOPT;
          }
          v = (num - (num % 10)) / 10;
        }
        break;
      }
      case 6: // GT
        v = a > b ? 1 : 0;
        break;
      case 7: // IF
        if (a === 0) continue;
        v = b;
        break;
      case 8: // LT
        v = a < b ? 1 : 0;
        break;
      case 9: // MAX
        v = a > b ? a : b;
        break;
      case 10: // MAXWRAP
        if (a === 0) v = b;
        else if (b === 0) v = a;
        else v = maxwrap32(a % TWO32, b % TWO32);
        break;
      case 11: // MIN
        v = a < b ? a : b;
        break;
      case 12: // MUL
        v = a * b;
        if (v >= TWO53) {
          deoptPc = pc;
          return DEOPT;
        }
        break;
      case 13: // NOTIF
        if (a !== 0) continue;
        v = b;
        break;
      default: // 14 SUB
        if (b > a) return Libccp.SUB_INT_UNDERFLOW;
        v = a - b;
        break;
    }
    const d = code[k + 1]!;
    if (d >= 0) r[d] = v;
    else if (d === MICROS_DST) {
      c.tzNow = now();
      c.tzV = v;
      c.tzIsBig = false;
      r[MICROS] = v;
    }
  }
  return 0;
}

/** Run instructions [from, to) with BigInt arithmetic mod 2^64. Returns 0 or a libccp error. */
export function runBig(
  r: BigUint64Array,
  code: Int32Array,
  from: number,
  to: number,
  c: Conn,
  now: () => number,
): number {
  for (let pc = from; pc < to; pc++) {
    const k = pc * STRIDE;
    const op = code[k]!;
    const a = r[code[k + 2]!]!;
    const b = r[code[k + 3]!]!;
    let v: bigint;
    switch (op) {
      case 0:
        v = (a + b) & U64;
        if (v < a) return Libccp.ADD_INT_OVERFLOW;
        break;
      case 1:
        v = b;
        break;
      case 2:
        continue;
      case 3:
        if (b === 0n) return Libccp.DIV_BY_ZERO;
        v = a / b;
        break;
      case 4:
        v = a === b ? 1n : 0n;
        break;
      case 5: {
        const t = r[code[k + 4]!]!;
        if (t === 0n) v = b;
        else v = ((((a * t) & U64) + ((((10n - a) & U64) * b) & U64)) & U64) / 10n;
        break;
      }
      case 6:
        v = a > b ? 1n : 0n;
        break;
      case 7:
        if (a === 0n) continue;
        v = b;
        break;
      case 8:
        v = a < b ? 1n : 0n;
        break;
      case 9:
        v = a > b ? a : b;
        break;
      case 10:
        if (a === 0n) v = b;
        else if (b === 0n) v = a;
        else v = BigInt(maxwrap32(Number(a & 0xffffffffn), Number(b & 0xffffffffn)));
        break;
      case 11:
        v = a < b ? a : b;
        break;
      case 12:
        v = (a * b) & U64;
        if (v < a && b > 0n) return Libccp.MUL_INT_OVERFLOW;
        break;
      case 13:
        if (a !== 0n) continue;
        v = b;
        break;
      default:
        v = (a - b) & U64;
        if (v > a) return Libccp.SUB_INT_UNDERFLOW;
        break;
    }
    const d = code[k + 1]!;
    if (d >= 0) r[d] = v;
    else if (d === MICROS_DST) {
      c.tzNow = now();
      if (v < BigInt(TWO53)) {
        c.tzV = Number(v);
        c.tzIsBig = false;
      } else {
        c.tzVBig = v;
        c.tzIsBig = true;
      }
      r[MICROS] = v;
    }
  }
  return 0;
}
