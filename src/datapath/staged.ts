/**
 * Staged updates (`datapath-machine.md` §7.3 and §4.1 steps 6–9): UPDATE_FIELDS and CHANGE_PROG
 * records are staged per connection when they arrive and applied at the start of the next
 * invocation.
 * @module
 */
import { Libccp } from './codes.ts';
import { P_CWND, P_RATE, type Conn } from './connection.ts';
import { CONTROL } from './program.ts';
import { CWND, RATE, enterBig } from './registers.ts';
import { applyCwnd, applyRate, type Machine } from './state.ts';
import { TWO32, u32at } from './u64.ts';

/** Bytes per update record: type (1), index (4), value (8). */
const RECORD = 13;

/**
 * Stage `count` update records starting at `buf[off]`. Returns 0 or a libccp error; records
 * before a rejected one stay staged, as in libccp.
 */
export function stage(m: Machine, c: Conn, buf: Uint8Array, off: number, count: number): number {
  const log = m.log;
  for (let k = 0; k < count; k++) {
    const o = off + RECORD * k;
    if (o + RECORD > buf.length) {
      if (log)
        log(
          'warn',
          `update record ${k} extends past the received buffer; rejected (wire-protocol §11 note 28)`,
        );
      return Libccp.BUFSIZE_TOO_SMALL;
    }
    const type = buf[o]!;
    const index = u32at(buf, o + 1);
    let slot: number;
    if (type === 0 || type === 8) {
      if (index >= 110) {
        if (log) {
          log(
            'warn',
            `update of control register ${index} >= 110 rejected: libccp would write outside its staging area (wire-protocol §7)`,
          );
        }
        return Libccp.UPDATE_INVALID_REG_TYPE;
      }
      slot = index;
    } else if (type === 2) {
      if (index === 4) slot = P_CWND;
      else if (index === 5) slot = P_RATE;
      else continue;
    } else {
      if (log) log('warn', `Failed to stage updates: invalid register type ${type}`);
      return Libccp.UPDATE_INVALID_REG_TYPE;
    }
    const lo = u32at(buf, o + 5);
    const hi = u32at(buf, o + 9);
    c.pendingFlags[slot] = 1;
    c.pendingAny = true;
    if (hi < 0x200000) {
      c.pendingVals[slot] = hi * TWO32 + lo;
      if (c.pendingBig) c.pendingBig[slot] = undefined;
    } else {
      if (!c.pendingBig) c.pendingBig = new Array<bigint | undefined>(112);
      c.pendingBig[slot] = (BigInt(hi) << 32n) | BigInt(lo);
    }
  }
  return 0;
}

/**
 * Apply the staged values (§4.1 steps 6–9): control registers in index order, then Cwnd and Rate
 * (calling `set_cwnd` / `set_rate_abs` at once for non-zero values), then clear them.
 */
export function applyStaged(m: Machine, c: Conn): void {
  const flags = c.pendingFlags;
  const vals = c.pendingVals;
  const bigs = c.pendingBig;
  if (bigs) enterBig(c);
  for (let i = 0; i < 110; i++) {
    if (flags[i] === 0) continue;
    const bv = bigs ? bigs[i] : undefined;
    if (c.big) c.rb![CONTROL + i] = bv ?? BigInt(vals[i]!);
    else c.r[CONTROL + i] = vals[i]!;
  }
  if (flags[P_CWND] !== 0) {
    const bv = bigs ? bigs[P_CWND] : undefined;
    if (c.big) {
      const v = bv ?? BigInt(vals[P_CWND]!);
      c.rb![CWND] = v;
      if (v !== 0n) applyCwnd(m, c, v);
    } else {
      const v = vals[P_CWND]!;
      c.r[CWND] = v;
      if (v !== 0) applyCwnd(m, c, v);
    }
  }
  if (flags[P_RATE] !== 0) {
    const bv = bigs ? bigs[P_RATE] : undefined;
    if (c.big) {
      const v = bv ?? BigInt(vals[P_RATE]!);
      c.rb![RATE] = v;
      if (v !== 0n) applyRate(m, c, v);
    } else {
      const v = vals[P_RATE]!;
      c.r[RATE] = v;
      if (v !== 0) applyRate(m, c, v);
    }
  }
  clearStaged(c);
}

/** Drop every staged value. */
export function clearStaged(c: Conn): void {
  c.pendingFlags.fill(0);
  c.pendingBig = null;
  c.pendingAny = false;
}
