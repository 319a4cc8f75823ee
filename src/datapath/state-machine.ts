/**
 * The state machine (`datapath-machine.md` §4.2): load the implicit registers and primitives, run
 * the events in order with the flag/fallthrough rules, then the window and rate callbacks and the
 * report. Runs in double mode (compiled or interpreted) and continues in BigInt mode from the
 * instruction where a value reached 2^53.
 * @module
 */
import { Libccp } from './codes.ts';
import type { Conn } from './connection.ts';
import { DEOPT, deoptPc, maxwrapDouble, microsWrite, runBig, runFast } from './instructions.ts';
import { compileProgram, type Deopt } from './jit.ts';
import { PRIM, type Program } from './program.ts';
import { CWND, FALL, FLAG, MICROS, RATE, REPORT_FLAG, enterBig, loadConsts } from './registers.ts';
import { sendReport } from './reports.ts';
import { applyCwnd, applyRate, lookupProgram, type Machine } from './state.ts';
import type { Primitives } from './types.ts';
import { TWO32, TWO53, U64, bigOf, toU64 } from './u64.ts';

/** Where double mode stopped with DEOPT: event, phase (0 condition, 1 body), instruction. */
const resume: Deopt = { e: 0, p: 0, pc: 0 };

/** Run the state machine for `c` at datapath time `now`; returns 0 or a libccp error. */
export function stateMachine(m: Machine, c: Conn, now: number): number {
  const p = lookupProgram(m, c.programIndex);
  if (!p) {
    if (m.log) m.log('warn', `[sid=${c.sid}] datapath program is null (program index ${c.programIndex})`);
    return Libccp.PROG_IS_NULL;
  }
  if (c.loaded !== p) loadConsts(c, p);
  const pr = c.prims;
  // u64 primitives and the clocks; any value ≥ 2^53 forces BigInt mode for this invocation.
  const rtt = toU64(pr.rttSampleUs);
  const rout = toU64(pr.rateOutgoing);
  const rin = toU64(pr.rateIncoming);
  const ackNow = now - m.timeZero;
  const micros = now - c.tzNow + c.tzV;
  const wide =
    rtt >= TWO53 || rout >= TWO53 || rin >= TWO53 || ackNow < 0 || c.tzIsBig || micros < 0 || micros >= TWO53;
  if (wide && !c.big) enterBig(c);
  if (!c.big) {
    const r = c.r;
    r[FLAG] = 0;
    r[FALL] = 0;
    r[REPORT_FLAG] = 0;
    r[MICROS] = micros;
    loadPrimitives(r, pr, ackNow, rin, rout, rtt);
    const res = runEventsDouble(m, c, p);
    if (res === 0) {
      const cw = r[CWND]!;
      if (cw > 0) m.cfg.setCwnd(c, cw % TWO32);
      const rt = r[RATE]!;
      if (rt !== 0) m.cfg.setRate(c, rt % TWO32);
      if (r[REPORT_FLAG] !== 0) sendReport(m, c, p);
      return 0;
    }
    if (res !== DEOPT) return failed(m, c, res);
    enterBig(c);
    return runEventsBig(m, c, p, resume.e, resume.p, resume.pc);
  }
  const rb = c.rb!;
  rb[FLAG] = 0n;
  rb[FALL] = 0n;
  rb[REPORT_FLAG] = 0n;
  rb[MICROS] = c.tzIsBig
    ? (BigInt(now - c.tzNow) + c.tzVBig) & U64
    : micros >= 0 && micros < TWO53
      ? BigInt(micros)
      : BigInt.asUintN(64, BigInt(now - c.tzNow) + BigInt(c.tzV));
  loadPrimitivesBig(rb, pr, ackNow, rin, rout, rtt);
  return runEventsBig(m, c, p, 0, 0, -1);
}

/** Primitives 0–14 (`language.md` §7) into double registers; the u64 ones are passed converted. */
function loadPrimitives(
  r: Float64Array,
  pr: Primitives,
  ackNow: number,
  rin: number,
  rout: number,
  rtt: number,
): void {
  r[PRIM] = pr.bytesAcked >>> 0;
  r[PRIM + 1] = pr.bytesMisordered >>> 0;
  r[PRIM + 2] = pr.ecnBytes >>> 0;
  r[PRIM + 3] = pr.ecnPackets >>> 0;
  r[PRIM + 4] = pr.lostPktsSample >>> 0;
  r[PRIM + 5] = ackNow;
  r[PRIM + 6] = pr.packetsAcked >>> 0;
  r[PRIM + 7] = pr.packetsMisordered >>> 0;
  r[PRIM + 8] = pr.bytesInFlight >>> 0;
  r[PRIM + 9] = pr.bytesPending >>> 0;
  r[PRIM + 10] = pr.packetsInFlight >>> 0;
  r[PRIM + 11] = rin;
  r[PRIM + 12] = rout;
  r[PRIM + 13] = rtt === 0 ? 4294967295 : rtt;
  r[PRIM + 14] = pr.wasTimeout ? 1 : 0;
}

/** {@link loadPrimitives} in BigInt mode. */
function loadPrimitivesBig(
  rb: BigUint64Array,
  pr: Primitives,
  ackNow: number,
  rin: number,
  rout: number,
  rtt: number,
): void {
  rb[PRIM] = BigInt(pr.bytesAcked >>> 0);
  rb[PRIM + 1] = BigInt(pr.bytesMisordered >>> 0);
  rb[PRIM + 2] = BigInt(pr.ecnBytes >>> 0);
  rb[PRIM + 3] = BigInt(pr.ecnPackets >>> 0);
  rb[PRIM + 4] = BigInt(pr.lostPktsSample >>> 0);
  rb[PRIM + 5] = BigInt.asUintN(64, BigInt(ackNow));
  rb[PRIM + 6] = BigInt(pr.packetsAcked >>> 0);
  rb[PRIM + 7] = BigInt(pr.packetsMisordered >>> 0);
  rb[PRIM + 8] = BigInt(pr.bytesInFlight >>> 0);
  rb[PRIM + 9] = BigInt(pr.bytesPending >>> 0);
  rb[PRIM + 10] = BigInt(pr.packetsInFlight >>> 0);
  rb[PRIM + 11] = bigOf(rin);
  rb[PRIM + 12] = bigOf(rout);
  rb[PRIM + 13] = rtt === 0 ? 4294967295n : bigOf(rtt);
  rb[PRIM + 14] = pr.wasTimeout ? 1n : 0n;
}

/**
 * The events in double mode (§4.2 step 4), compiled or interpreted. Returns 0 (done or stopped), a
 * libccp error, or DEOPT with the resume point in {@link resume}.
 */
function runEventsDouble(m: Machine, c: Conn, p: Program): number {
  const r = c.r;
  let fast = p.fast;
  if (m.compiled && fast === undefined) {
    fast = p.fast = compileProgram(
      p,
      resume,
      maxwrapDouble,
      microsWrite as (c: never, v: number, now: () => number) => void,
    );
  }
  if (m.compiled && fast) return fast(r, c, m.now);
  const code = p.code;
  const ev = p.events;
  const n = p.numExpressions;
  for (let e = 0; e < n; e++) {
    const q = e * 4;
    let res = runFast(r, code, ev[q]!, ev[q + 1]!, c, m.now);
    if (res !== 0) {
      if (res !== DEOPT) return res;
      resume.e = e;
      resume.p = 0;
      resume.pc = deoptPc;
      return DEOPT;
    }
    if (r[FLAG] !== 0) {
      res = runFast(r, code, ev[q + 2]!, ev[q + 3]!, c, m.now);
      if (res !== 0) {
        if (res !== DEOPT) return res;
        resume.e = e;
        resume.p = 1;
        resume.pc = deoptPc;
        return DEOPT;
      }
    }
    if (r[FLAG] !== 0 && r[FALL] === 0) break;
  }
  return 0;
}

/**
 * The events in BigInt mode from event `e`, phase `phase` (0 condition, 1 body), instruction `pc`
 * (−1: the range's start), then the callbacks and the report (§4.2 steps 4–8).
 */
function runEventsBig(m: Machine, c: Conn, p: Program, e: number, phase: number, pc: number): number {
  const rb = c.rb!;
  const code = p.code;
  const ev = p.events;
  const n = p.numExpressions;
  for (; e < n; e++) {
    const q = e * 4;
    let res: number;
    if (phase === 0) {
      res = runBig(rb, code, pc >= 0 ? pc : ev[q]!, ev[q + 1]!, c, m.now);
      if (res !== 0) return failed(m, c, res);
      pc = -1;
    }
    if (phase === 1 || rb[FLAG] !== 0n) {
      res = runBig(rb, code, pc >= 0 ? pc : ev[q + 2]!, ev[q + 3]!, c, m.now);
      if (res !== 0) return failed(m, c, res);
    }
    pc = -1;
    phase = 0;
    if (rb[FLAG] !== 0n && rb[FALL] === 0n) break;
  }
  const cw = rb[CWND]!;
  if (cw > 0n) applyCwnd(m, c, cw);
  const rt = rb[RATE]!;
  if (rt !== 0n) applyRate(m, c, rt);
  if (rb[REPORT_FLAG] !== 0n) sendReport(m, c, p);
  return 0;
}

/** An aborted invocation (§5.3): log it and return the error. */
function failed(m: Machine, c: Conn, code: number): number {
  if (m.log)
    m.log(
      code === Libccp.ADD_INT_OVERFLOW || code === Libccp.DIV_BY_ZERO ? 'warn' : 'error',
      `[sid=${c.sid}] ERROR! ${errName(code)}: invocation aborted (${code})`,
    );
  return code;
}

function errName(code: number): string {
  switch (code) {
    case Libccp.ADD_INT_OVERFLOW:
      return 'integer overflow in ADD';
    case Libccp.DIV_BY_ZERO:
      return 'attempt to divide by 0';
    case Libccp.MUL_INT_OVERFLOW:
      return 'integer overflow in MUL';
    default:
      return 'integer underflow in SUB';
  }
}
