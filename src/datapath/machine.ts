/**
 * The libccp-compatible datapath machine (`shared/spec/datapath-machine.md`).
 *
 * Arithmetic is exact unsigned 64-bit. Registers live in a Float64Array while every value is below
 * 2^53 (where doubles are exact integers); an instruction whose result would reach 2^53 (ADD, MUL,
 * EWMA) instead switches the connection to a BigUint64Array copy and re-executes that instruction
 * with BigInt arithmetic mod 2^64, and the invocation continues there. After an invocation in BigInt
 * mode the connection returns to doubles once all its registers are below 2^53 again.
 * @module
 */
import { Libccp } from './codes.ts';
import { compileProgram, type Deopt } from './jit.ts';
import {
  CONST,
  CONTROL,
  FILE,
  IMPL,
  MICROS_DST,
  PRIM,
  STRIDE,
  decodeInstall,
  placeholderProgram,
  type Program,
} from './program.ts';
import type {
  Connection,
  Datapath,
  DatapathConfig,
  FlowInfo,
  Primitives,
  ProgramSlot,
  RegisterSnapshot,
} from './types.ts';
import { zeroPrimitives } from './types.ts';

const TWO53 = 9007199254740992;
const TWO32 = 4294967296;
const U64 = 0xffffffffffffffffn;
const FLAG = IMPL;
const FALL = IMPL + 1;
const REPORT_FLAG = IMPL + 2;
const MICROS = IMPL + 3;
const CWND = IMPL + 4;
const RATE = IMPL + 5;
/** Pending-update slots: 0–109 control registers, 110 Cwnd, 111 Rate. */
const P_CWND = 110;
const P_RATE = 111;
/** `runFast` result: an intermediate value reached 2^53; resume in BigInt mode at `deoptPc`. */
const DEOPT = 1;
const CREATE_TIMEOUT_US = 100000;
const BIGGEST_MSG_SIZE = 32678;
const MAX_MUTABLE_REG = 222;

let deoptPc = 0;
/** Resume point written by compiled programs on DEOPT. */
const deoptAt: Deopt = { e: 0, p: 0, pc: 0 };

/** A Micros write from compiled code. */
function microsWrite(c: Conn, v: number, now: () => number): void {
  c.tzNow = now();
  c.tzV = v;
  c.tzIsBig = false;
  c.r[MICROS] = v;
}

/** MAXWRAP on exact doubles (both operands below 2^53). */
function maxwrapDouble(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return maxwrap32(a % TWO32, b % TWO32);
}

/** Per-flow state: libccp's `ccp_connection` plus `ccp_priv_state`. */
class Conn implements Connection {
  readonly sid: number;
  readonly info: FlowInfo;
  prims: Primitives;
  user?: unknown;
  /** false once freed (libccp: private state freed). */
  alive = true;
  sentCreate = false;
  programIndex = 0;
  stagedProgramIndex = -1;
  r: Float64Array;
  rb: BigUint64Array | null = null;
  big = false;
  /** Program whose constants are in the constant area. */
  loaded: Program | null = null;
  /** Micros clock: Micros = (now - tzNow) + tzV  (mod 2^64). */
  tzNow = 0;
  tzV = 0;
  tzVBig = 0n;
  tzIsBig = false;
  pendingAny = false;
  pendingFlags = new Uint8Array(112);
  pendingVals = new Float64Array(112);
  pendingBig: Array<bigint | undefined> | null = null;
  /** CREATE body bytes for congAlg (64). */
  readonly congAlg: Uint8Array;

  constructor(sid: number, info: FlowInfo, timeZero: number) {
    this.sid = sid;
    this.info = { ...info };
    this.prims = zeroPrimitives();
    this.r = new Float64Array(CONST + 16);
    this.tzNow = timeZero;
    this.congAlg = new Uint8Array(64);
    const name = info.congAlg ?? '';
    for (let i = 0; i < name.length && i < 64; i++) this.congAlg[i] = name.charCodeAt(i) & 0xff;
  }
}

function u32at(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** A non-negative integer from a number field, as C converts to u64 (truncation); NaN/negative → 0. */
function toU64(x: number): number {
  const v = Math.trunc(x);
  return v >= 0 ? v : 0;
}

function bigOf(v: number): bigint {
  // v is a non-negative integer; values ≥ 2^64 wrap as a u64 store would.
  return v < TWO53 ? BigInt(v) : BigInt.asUintN(64, BigInt(v));
}

function maxwrap32(a32: number, b32: number): number {
  // dif32(left, right) from libccp machine.c
  const ltr = b32 > a32 ? b32 - a32 : 0xffffffff - a32 + b32;
  const rtl = a32 > b32 ? a32 - b32 : 0xffffffff - b32 + a32;
  return rtl < ltr ? a32 : b32;
}

/**
 * Run instructions [from, to) in double mode. Returns 0, a libccp error, or DEOPT (with `deoptPc`).
 * Micros writes are signalled through `onMicros`.
 */
function runFast(
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
function runBig(
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

function enterBig(c: Conn): BigUint64Array {
  if (!c.rb || c.rb.length !== c.r.length) c.rb = new BigUint64Array(c.r.length);
  const r = c.r;
  const rb = c.rb;
  if (!c.big) {
    for (let i = 0; i < r.length; i++) rb[i] = BigInt(r[i]!);
    c.big = true;
  }
  return rb;
}

function tryLeaveBig(c: Conn): void {
  if (c.tzIsBig) return;
  const rb = c.rb!;
  const lim = BigInt(TWO53);
  for (let i = 0; i < FILE; i++) if (rb[i]! >= lim) return;
  const r = c.r;
  for (let i = 0; i < FILE; i++) r[i] = Number(rb[i]!);
  c.big = false;
}

/**
 * Create a libccp-compatible datapath. Call {@link Datapath.init} first (it sends READY).
 * Time comes from `cfg.now()` in microseconds.
 */
export function createDatapath(cfg: DatapathConfig): Datapath {
  const maxConnections = cfg.maxConnections ?? 1024;
  const maxPrograms = cfg.maxPrograms ?? 10;
  const ftoUs = cfg.ftoUs ?? 1000;
  const dpId = cfg.id ?? 0;
  const nowFn = (): number => Math.floor(cfg.now());
  const log = cfg.log;
  const compiled = (cfg.engine ?? 'compiled') === 'compiled';

  let initialized = false;
  let timeZero = 0;
  let lastMsgSent = 0;
  let inFallback = false;
  const slots: Array<Conn | null> = [];
  const slotIndex = new Int32Array(Math.max(0, Math.min(maxConnections, 65535)));
  const lastCreateSent = new Float64Array(slotIndex.length);
  let active = 0;
  let table: Array<Program | null> = [];

  const createBuf = Buffer.alloc(96);
  const closeBuf = Buffer.alloc(16);
  const reportBuf = Buffer.alloc(16 + 8 * 110);
  const reportViews: Buffer[] = [];
  for (let n = 0; n <= 110; n++) reportViews.push(reportBuf.subarray(0, 16 + 8 * n));

  function armFto(): void {
    if (lastMsgSent === 0) lastMsgSent = nowFn();
  }

  /** Send READY(id); a failure is only logged, as in libccp. */
  function sendReady(): number {
    const ready = Buffer.alloc(12);
    ready.writeUInt16LE(5, 0);
    ready.writeUInt16LE(12, 2);
    ready.writeUInt32LE(dpId >>> 0, 8);
    const ok = cfg.send(ready);
    if (ok !== 0 && log) log('warn', `failed to send ready message: ${ok}`);
    return ok;
  }

  function lookupProgram(pid: number): Program | null {
    if (pid === 0 || pid > maxPrograms) return null;
    const p = table[pid - 1];
    return p && p.index === pid ? p : null;
  }

  function sendCreate(c: Conn): number {
    const slot = c.sid - 1;
    const last = lastCreateSent[slot]!;
    if (last !== 0 && nowFn() - last < CREATE_TIMEOUT_US) return Libccp.CREATE_PENDING;
    if (slotIndex[slot]! < 1) return Libccp.CONNECTION_NOT_INITIALIZED;
    lastCreateSent[slot] = nowFn();
    const b = createBuf;
    b.writeUInt16LE(0, 0);
    b.writeUInt16LE(96, 2);
    b.writeUInt32LE(c.sid, 4);
    const i = c.info;
    b.writeUInt32LE(i.initCwnd >>> 0, 8);
    b.writeUInt32LE(i.mss >>> 0, 12);
    b.writeUInt32LE(i.srcIp >>> 0, 16);
    b.writeUInt32LE(i.srcPort >>> 0, 20);
    b.writeUInt32LE(i.dstIp >>> 0, 24);
    b.writeUInt32LE(i.dstPort >>> 0, 28);
    b.set(c.congAlg, 32);
    const ok = cfg.send(b);
    if (ok !== 0) armFto();
    return ok;
  }

  // ---- register helpers (mode-aware; not on the per-instruction path) ----
  function setU32(c: Conn, off: number, v: number): void {
    if (c.big) c.rb![off] = BigInt(v);
    else c.r[off] = v;
  }

  function resetState(c: Conn): void {
    const p = lookupProgram(c.programIndex);
    if (!p) {
      if (log) log('info', 'Cannot reset state because program is NULL');
      return;
    }
    const offs = p.resetOffs;
    const vals = p.resetVals;
    for (let i = 0; i < offs.length; i++) setU32(c, offs[i]!, vals[i]!);
    if (p.storesCount) p.numToReturn = p.reportDefs;
  }

  function initRegisterState(c: Conn): void {
    const p = lookupProgram(c.programIndex);
    if (!p) {
      if (log) log('info', 'Cannot init register state because program is NULL');
      return;
    }
    const offs = p.initOffs;
    const vals = p.initVals;
    for (let i = 0; i < offs.length; i++) setU32(c, offs[i]!, vals[i]!);
  }

  function loadConsts(c: Conn, p: Program): void {
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

  function cwndCallback(c: Conn, v: number | bigint): void {
    cfg.setCwnd(c, typeof v === 'number' ? v % TWO32 : Number(v & 0xffffffffn));
  }
  function rateCallback(c: Conn, v: number | bigint): void {
    cfg.setRate(c, typeof v === 'number' ? v % TWO32 : Number(v & 0xffffffffn));
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

  /** The state machine (`datapath-machine.md` §4.2, steps 1–8). */
  function stateMachine(c: Conn, now: number): number {
    const p = lookupProgram(c.programIndex);
    if (!p) {
      if (log) log('warn', `[sid=${c.sid}] datapath program is null (program index ${c.programIndex})`);
      return Libccp.PROG_IS_NULL;
    }
    if (c.loaded !== p) loadConsts(c, p);
    const pr = c.prims;
    // u64 primitives and the clocks; any value ≥ 2^53 forces BigInt mode for this invocation.
    const rtt = toU64(pr.rttSampleUs);
    const rout = toU64(pr.rateOutgoing);
    const rin = toU64(pr.rateIncoming);
    const ackNow = now - timeZero;
    const micros = now - c.tzNow + c.tzV;
    const wide =
      rtt >= TWO53 ||
      rout >= TWO53 ||
      rin >= TWO53 ||
      ackNow < 0 ||
      c.tzIsBig ||
      micros < 0 ||
      micros >= TWO53;
    if (wide && !c.big) enterBig(c);
    const code = p.code;
    const ev = p.events;
    const n = p.numExpressions;
    let e = 0;
    let phase = 0; // resume point for BigInt mode: 0 = condition, 1 = body
    let pc = -1;
    if (!c.big) {
      const r = c.r;
      r[FLAG] = 0;
      r[FALL] = 0;
      r[REPORT_FLAG] = 0;
      r[MICROS] = micros;
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
      let fast = p.fast;
      if (compiled && fast === undefined) {
        fast = p.fast = compileProgram(
          p,
          deoptAt,
          maxwrapDouble,
          microsWrite as (c: never, v: number, now: () => number) => void,
        );
      }
      if (compiled && fast) {
        const res = fast(r, c, nowFn);
        if (res === 0) e = n;
        else if (res !== DEOPT) return failed(c, res);
        else {
          e = deoptAt.e;
          phase = deoptAt.p;
          pc = deoptAt.pc;
        }
      } else {
        for (; e < n; e++) {
          const q = e * 4;
          let res = runFast(r, code, ev[q]!, ev[q + 1]!, c, nowFn);
          if (res !== 0) {
            if (res !== DEOPT) return failed(c, res);
            phase = 0;
            pc = deoptPc;
            break;
          }
          if (r[FLAG] !== 0) {
            res = runFast(r, code, ev[q + 2]!, ev[q + 3]!, c, nowFn);
            if (res !== 0) {
              if (res !== DEOPT) return failed(c, res);
              phase = 1;
              pc = deoptPc;
              break;
            }
          }
          if (r[FLAG] !== 0 && r[FALL] === 0) {
            e = n;
            break;
          }
        }
      }
      if (e < n) enterBig(c);
    } else {
      const rb = c.rb!;
      rb[FLAG] = 0n;
      rb[FALL] = 0n;
      rb[REPORT_FLAG] = 0n;
      rb[MICROS] = c.tzIsBig
        ? (BigInt(now - c.tzNow) + c.tzVBig) & U64
        : micros >= 0 && micros < TWO53
          ? BigInt(micros)
          : BigInt.asUintN(64, BigInt(now - c.tzNow) + BigInt(c.tzV));
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
    if (c.big) {
      const rb = c.rb!;
      for (; e < n; e++) {
        const q = e * 4;
        let res: number;
        if (phase === 0) {
          res = runBig(rb, code, pc >= 0 ? pc : ev[q]!, ev[q + 1]!, c, nowFn);
          if (res !== 0) return failed(c, res);
          pc = -1;
        }
        if (phase === 1 || rb[FLAG] !== 0n) {
          res = runBig(rb, code, pc >= 0 ? pc : ev[q + 2]!, ev[q + 3]!, c, nowFn);
          if (res !== 0) return failed(c, res);
        }
        pc = -1;
        phase = 0;
        if (rb[FLAG] !== 0n && rb[FALL] === 0n) break;
      }
      const cw = rb[CWND]!;
      if (cw > 0n) cwndCallback(c, cw);
      const rt = rb[RATE]!;
      if (rt !== 0n) rateCallback(c, rt);
      if (rb[REPORT_FLAG] !== 0n) sendReport(c, p);
      return 0;
    }
    const r = c.r;
    const cw = r[CWND]!;
    if (cw > 0) cfg.setCwnd(c, cw % TWO32);
    const rt = r[RATE]!;
    if (rt !== 0) cfg.setRate(c, rt % TWO32);
    if (r[REPORT_FLAG] !== 0) sendReport(c, p);
    return 0;
  }

  function failed(c: Conn, code: number): number {
    if (log)
      log(
        code === Libccp.ADD_INT_OVERFLOW || code === Libccp.DIV_BY_ZERO ? 'warn' : 'error',
        `[sid=${c.sid}] ERROR! ${errName(code)}: invocation aborted (${code})`,
      );
    return code;
  }

  function sendReport(c: Conn, p: Program): void {
    const n = p.numToReturn;
    const b = reportViews[n]!;
    b.writeUInt16LE(1, 0);
    b.writeUInt16LE(16 + 8 * n, 2);
    b.writeUInt32LE(c.sid, 4);
    b.writeUInt32LE(p.uid, 8);
    b.writeUInt32LE(n, 12);
    if (c.big) {
      const rb = c.rb!;
      for (let i = 0; i < n; i++) b.writeBigUInt64LE(rb[i]!, 16 + 8 * i);
    } else {
      const r = c.r;
      for (let i = 0; i < n; i++) {
        const v = r[i]!;
        const lo = v % TWO32;
        b.writeUInt32LE(lo, 16 + 8 * i);
        b.writeUInt32LE((v - lo) / TWO32, 20 + 8 * i);
      }
    }
    const ok = cfg.send(b);
    if (ok !== 0) armFto();
    resetState(c);
  }

  function applyPending(c: Conn): void {
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
        if (v !== 0n) cwndCallback(c, v);
      } else {
        const v = vals[P_CWND]!;
        c.r[CWND] = v;
        if (v !== 0) cwndCallback(c, v);
      }
    }
    if (flags[P_RATE] !== 0) {
      const bv = bigs ? bigs[P_RATE] : undefined;
      if (c.big) {
        const v = bv ?? BigInt(vals[P_RATE]!);
        c.rb![RATE] = v;
        if (v !== 0n) rateCallback(c, v);
      } else {
        const v = vals[P_RATE]!;
        c.r[RATE] = v;
        if (v !== 0) rateCallback(c, v);
      }
    }
    clearPending(c);
  }

  function clearPending(c: Conn): void {
    c.pendingFlags.fill(0);
    c.pendingBig = null;
    c.pendingAny = false;
  }

  function invoke(conn: Connection): number {
    if (!(conn instanceof Conn)) return Libccp.NULL_ARG;
    const c = conn;
    if (!c.alive) return Libccp.PRIV_IS_NULL;
    // §8 fallback check
    const now = nowFn();
    if (lastMsgSent !== 0 && now - lastMsgSent > ftoUs) {
      if (!inFallback) {
        inFallback = true;
        if (log)
          log(
            'error',
            `entering fallback: no message from the agent for more than ${ftoUs} us after a failed send`,
          );
      }
      return Libccp.FALLBACK_TIMED_OUT;
    }
    if (inFallback) {
      inFallback = false;
      if (log) log('error', 'leaving fallback');
    }
    if (!c.sentCreate) {
      const ok = sendCreate(c);
      if (ok < 0) {
        if (log && !inFallback) log('warn', `failed to retx create message: ${ok}`);
      } else c.sentCreate = true;
      return 0;
    }
    // Step 4: Cwnd and Rate from the datapath.
    const sndRate = toU64(c.prims.sndRate);
    if (sndRate >= TWO53) enterBig(c);
    if (c.big) {
      c.rb![CWND] = BigInt(c.prims.sndCwnd >>> 0);
      c.rb![RATE] = bigOf(sndRate);
    } else {
      c.r[CWND] = c.prims.sndCwnd >>> 0;
      c.r[RATE] = sndRate;
    }
    // Step 5: staged program switch.
    if (c.stagedProgramIndex >= 0) {
      c.programIndex = c.stagedProgramIndex;
      resetState(c);
      initRegisterState(c);
      c.tzNow = nowFn();
      c.tzV = 0;
      c.tzIsBig = false;
      setU32(c, MICROS, 0);
      c.stagedProgramIndex = -1;
    }
    // Steps 6–9: staged values.
    if (c.pendingAny) applyPending(c);
    const res = stateMachine(c, now);
    if (c.big) tryLeaveBig(c);
    return res;
  }

  function stage(c: Conn, buf: Uint8Array, off: number, count: number): number {
    for (let k = 0; k < count; k++) {
      const o = off + 13 * k;
      if (o + 13 > buf.length) {
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

  function receive(buf: Uint8Array): number {
    if (!initialized) {
      if (log) log('warn', 'datapath state not initialized');
      return Libccp.PROG_IS_NULL;
    }
    // Step 2: header type (libccp copies 8 bytes unconditionally; we need at least the type).
    if (buf.length < 2) {
      if (log) log('warn', `received ${buf.length} bytes: no header`);
      return Libccp.BUFSIZE_TOO_SMALL;
    }
    const type = buf[0]! | (buf[1]! << 8);
    if (type !== 2 && type !== 3 && type !== 4) {
      if (log) log('warn', `read header failed: invalid type ${type}`);
      return Libccp.READ_INVALID_HEADER_TYPE;
    }
    if (buf.length < 8) {
      if (log) log('warn', `received ${buf.length} bytes: truncated header`);
      return Libccp.BUFSIZE_TOO_SMALL;
    }
    const len = buf[2]! | (buf[3]! << 8);
    if (len > buf.length) {
      if (log) log('warn', `message size wrong: ${len} > ${buf.length}`);
      return Libccp.BUFSIZE_TOO_SMALL;
    }
    if (len > BIGGEST_MSG_SIZE) {
      if (log) log('warn', `message too long: ${len} > ${BIGGEST_MSG_SIZE}`);
      return Libccp.MSG_TOO_LONG;
    }
    // Step 4: any message that passed the header checks clears the fallback timer.
    lastMsgSent = 0;
    if (type === 2) return install(buf);
    const sid = buf[4]! | (buf[5]! << 8); // libccp looks flows up with a u16 sid
    if (sid === 0 || sid > slotIndex.length || slotIndex[sid - 1] !== sid) {
      if (log) log('trace', `unknown connection: ${sid}`); // libccp_trace, as libccp
      return Libccp.UNKNOWN_CONNECTION;
    }
    const c = slots[sid - 1]!;
    if (type === 3) {
      if (buf.length < 9) return Libccp.BUFSIZE_TOO_SMALL;
      const count = buf[8]!; // libccp reads one (signed) char
      if (count >= 0x80) {
        if (log) log('warn', `Update fields message failed: too many updates`);
        return Libccp.UPDATE_TOO_MANY;
      }
      return stage(c, buf, 12, count);
    }
    // CHANGE_PROG
    if (buf.length < 16) return Libccp.BUFSIZE_TOO_SMALL;
    const uid = u32at(buf, 8);
    const count = u32at(buf, 12);
    if (count > MAX_MUTABLE_REG) {
      if (log) log('warn', `Change program message deserialization failed: ${count} updates`);
      return Libccp.CHANGE_TOO_MANY;
    }
    let found = -1;
    for (let i = 0; i < table.length; i++) {
      const p = table[i];
      if (p && p.index !== 0 && p.uid === uid) {
        found = p.index;
        break;
      }
    }
    if (found < 0) {
      if (log) log('info', `Could not find datapath program with program uid: ${uid}`);
      return Libccp.CHANGE_PROG_UNKNOWN_UID;
    }
    c.stagedProgramIndex = found;
    clearPending(c);
    return stage(c, buf, 16, count);
  }

  function install(buf: Uint8Array): number {
    const d = decodeInstall(buf);
    if ('reject' in d) {
      if (log) log('error', `INSTALL_EXPR rejected: ${d.reason}`);
      return d.reject;
    }
    const p = d.program;
    if (p.uid === 1) table = new Array<Program | null>(maxPrograms).fill(null);
    let pid = 0;
    for (; pid < maxPrograms; pid++) {
      if (!table[pid]) break;
    }
    if (pid >= maxPrograms) {
      if (log) log('warn', 'could not install datapath program: program table full');
      return Libccp.PROG_TABLE_FULL;
    }
    if (pid + 1 >= maxPrograms) {
      // libccp's slot search marks the last slot used and then fails (datapath-machine §7.1)
      table[pid] = placeholderProgram(pid + 1);
      if (log) log('warn', 'could not install datapath program: program table full');
      return Libccp.PROG_TABLE_FULL;
    }
    p.index = pid + 1;
    table[pid] = p;
    if (d.code !== 0 && log)
      log('warn', `Could not read instruction in program with uid ${p.uid}: ${d.code}`);
    return d.code;
  }

  return {
    init(): number {
      if (
        typeof cfg.now !== 'function' ||
        typeof cfg.send !== 'function' ||
        typeof cfg.setCwnd !== 'function' ||
        typeof cfg.setRate !== 'function' ||
        !(maxConnections > 0) ||
        maxConnections > 65535 ||
        !(maxPrograms > 0) ||
        !(ftoUs > 0)
      ) {
        return Libccp.MISSING_ARG;
      }
      sendReady();
      table = new Array<Program | null>(maxPrograms).fill(null);
      slots.length = 0;
      for (let i = 0; i < slotIndex.length; i++) slots.push(null);
      timeZero = nowFn();
      lastMsgSent = 0;
      inFallback = false;
      initialized = true;
      return 0;
    },

    startConnection(info: FlowInfo): Connection | null {
      if (!initialized) return null;
      let slot = 0;
      for (; slot < slotIndex.length; slot++) if (slotIndex[slot] === 0) break;
      if (slot >= slotIndex.length) return null;
      slotIndex[slot] = slot + 1;
      const c = new Conn(slot + 1, info, timeZero);
      slots[slot] = c;
      active++;
      const ok = sendCreate(c);
      if (ok < 0) {
        if (log && !inFallback) log('warn', `failed to send create message: ${ok}`);
      } else c.sentCreate = true;
      return c;
    },

    reconnect(): number {
      if (!initialized) return Libccp.MISSING_ARG;
      const ok = sendReady();
      table = new Array<Program | null>(maxPrograms).fill(null);
      for (const c of slots) {
        if (c === null || !c.alive) continue;
        c.programIndex = 0;
        c.stagedProgramIndex = -1;
        c.loaded = null;
        clearPending(c);
        lastCreateSent[c.sid - 1] = 0;
        c.sentCreate = sendCreate(c) === 0;
      }
      return ok;
    },

    freeConnection(sid: number): void {
      if (!initialized) return;
      if (sid === 0 || sid > slotIndex.length) {
        if (log) log('warn', `index out of bounds: ${sid}`);
        return;
      }
      if (slotIndex[sid - 1] !== sid) {
        if (log) log('warn', `index mismatch: sid ${sid}, index ${slotIndex[sid - 1]}`);
        return;
      }
      const c = slots[sid - 1]!;
      c.alive = false;
      const b = closeBuf;
      b.fill(0);
      b.writeUInt16LE(1, 0);
      b.writeUInt16LE(16, 2);
      b.writeUInt32LE(sid, 4);
      const ok = cfg.send(b);
      if (ok < 0 && log && !inFallback) log('warn', `error sending close message: ${ok}`);
      slots[sid - 1] = null;
      slotIndex[sid - 1] = 0;
      active--;
    },

    invoke,
    receive,

    connection(sid: number): Connection | null {
      if (sid < 1 || sid > slots.length) return null;
      return slots[sid - 1] ?? null;
    },

    activeConnections: () => active,
    inFallback: () => inFallback,

    registers(conn: Connection): RegisterSnapshot {
      const c = conn as Conn;
      const get = (off: number): bigint => (c.big ? c.rb![off]! : BigInt(c.r[off]!));
      const range = (base: number, n: number): bigint[] => Array.from({ length: n }, (_, i) => get(base + i));
      return {
        report: range(0, 110),
        control: range(CONTROL, 110),
        implicit: range(IMPL, 6),
        tmp: range(IMPL + 6, 8),
        local: range(IMPL + 14, 8),
        programIndex: c.programIndex,
        stagedProgramIndex: c.stagedProgramIndex,
        sentCreate: c.sentCreate,
      };
    },

    programs(): ProgramSlot[] {
      const out: ProgramSlot[] = [];
      for (const p of table) {
        if (p) {
          out.push({
            index: p.index,
            uid: p.uid,
            numExpressions: p.numExpressions,
            numInstructions: p.numInstructions,
            numToReturn: p.numToReturn,
          });
        }
      }
      return out;
    },
  };
}
