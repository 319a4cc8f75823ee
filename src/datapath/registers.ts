/**
 * The register file (`datapath-machine.md` §1.2, §4.4): the implicit registers' offsets, the switch
 * between double mode (every value below 2^53) and BigInt mode, program constants, and snapshots.
 * The layout itself is described in `program.ts`.
 * @module
 */
import type { Conn } from './connection.ts';
import { CONST, CONTROL, FILE, IMPL, LOCAL, TMP, type Program } from './program.ts';
import type { RegisterSnapshot } from './types.ts';
import { TWO53 } from './u64.ts';

/** Implicit registers 0–5: flag, fallthrough, report, Micros, Cwnd, Rate. */
export const FLAG = IMPL;
export const FALL = IMPL + 1;
export const REPORT_FLAG = IMPL + 2;
export const MICROS = IMPL + 3;
export const CWND = IMPL + 4;
export const RATE = IMPL + 5;

/** Switch `c` to BigInt mode (copying the doubles once) and return its BigInt register file. */
export function enterBig(c: Conn): BigUint64Array {
  if (!c.rb || c.rb.length !== c.r.length) c.rb = new BigUint64Array(c.r.length);
  const r = c.r;
  const rb = c.rb;
  if (!c.big) {
    for (let i = 0; i < r.length; i++) rb[i] = BigInt(r[i]!);
    c.big = true;
  }
  return rb;
}

/** Return `c` to double mode if every register (and the Micros clock) is below 2^53 again. */
export function tryLeaveBig(c: Conn): void {
  if (c.tzIsBig) return;
  const rb = c.rb!;
  const lim = BigInt(TWO53);
  for (let i = 0; i < FILE; i++) if (rb[i]! >= lim) return;
  const r = c.r;
  for (let i = 0; i < FILE; i++) r[i] = Number(rb[i]!);
  c.big = false;
}

/** Write a value below 2^32 to a register in either mode (not on the per-instruction path). */
export function setU32(c: Conn, off: number, v: number): void {
  if (c.big) c.rb![off] = BigInt(v);
  else c.r[off] = v;
}

/** Copy `p`'s immediates into the constant area, growing the register file if needed. */
export function loadConsts(c: Conn, p: Program): void {
  const need = CONST + p.consts.length;
  if (c.r.length < need) {
    const r = new Float64Array(need + 8);
    r.set(c.r);
    c.r = r;
    if (c.rb) {
      const rb = new BigUint64Array(need + 8);
      rb.set(c.rb);
      c.rb = rb;
    }
  }
  c.r.set(p.consts, CONST);
  if (c.rb) for (let i = 0; i < p.consts.length; i++) c.rb[CONST + i] = BigInt(p.consts[i]!);
  c.loaded = p;
}

/** A copy of `c`'s registers and program state, for tests and tools. */
export function snapshot(c: Conn): RegisterSnapshot {
  const get = (off: number): bigint => (c.big ? c.rb![off]! : BigInt(c.r[off]!));
  const range = (base: number, n: number): bigint[] => Array.from({ length: n }, (_, i) => get(base + i));
  return {
    report: range(0, 110),
    control: range(CONTROL, 110),
    implicit: range(IMPL, 6),
    tmp: range(TMP, 8),
    local: range(LOCAL, 8),
    programIndex: c.programIndex,
    stagedProgramIndex: c.stagedProgramIndex,
    sentCreate: c.sentCreate,
  };
}
