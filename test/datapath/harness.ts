/**
 * Test harness for the datapath machine: a simulated clock, captured messages and callbacks, and
 * builders for agent messages (INSTALL_EXPR, UPDATE_FIELDS, CHANGE_PROG) independent of src/wire.
 */
import {
  createDatapath,
  zeroPrimitives,
  type Connection,
  type Datapath,
  type DatapathConfig,
  type FlowInfo,
  type Primitives,
} from '../../src/datapath/index.ts';

/** Bytes from a hex string with arbitrary whitespace (the shared helper of the spec-vector fixture). */
export { hex } from '../fixtures/spec-vectors.ts';

export interface Call {
  sid: number;
  value: number;
  t: number;
}

export interface Harness {
  dp: Datapath;
  /** Simulated clock in µs (starts at 1000 so that `now() = 0` quirks do not interfere). */
  t: number;
  sent: Buffer[];
  cwnd: Call[];
  rate: Call[];
  logs: Array<[string, string]>;
  /** Return value of the next sends (0 = success). */
  sendResult: number;
  start(info?: Partial<FlowInfo>): Connection;
  /** Set prims (merged with the connection's current ones) and invoke. */
  ack(conn: Connection, prims?: Partial<Primitives>): number;
  /** Messages sent since the last call of `take`. */
  take(): Buffer[];
}

export function flow(over: Partial<FlowInfo> = {}): FlowInfo {
  return { initCwnd: 14480, mss: 1448, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, congAlg: 'reno', ...over };
}

export function harness(over: Partial<DatapathConfig> = {}): Harness {
  let mark = 0;
  const h: Harness = {
    dp: undefined as unknown as Datapath,
    t: 1000,
    sent: [],
    cwnd: [],
    rate: [],
    logs: [],
    sendResult: 0,
    start(info = {}) {
      const c = h.dp.startConnection(flow(info));
      if (!c) throw new Error('no free slot');
      return c;
    },
    ack(conn, prims = {}) {
      Object.assign(conn.prims, prims);
      return h.dp.invoke(conn);
    },
    take() {
      const out = h.sent.slice(mark);
      mark = h.sent.length;
      return out;
    },
  };
  h.dp = createDatapath({
    now: () => h.t,
    send: (m) => {
      h.sent.push(Buffer.from(m));
      return h.sendResult;
    },
    setCwnd: (c, v) => h.cwnd.push({ sid: c.sid, value: v, t: h.t }),
    setRate: (c, v) => h.rate.push({ sid: c.sid, value: v, t: h.t }),
    log: (level, msg) => h.logs.push([level, msg]),
    ...over,
  });
  return h;
}

export { zeroPrimitives };

/** One instruction as [op, rt, ri, lt, li, gt, gi]. */
export type Instr = [number, number, number, number, number, number, number];
/** One event as [condStart, condCount, bodyStart, bodyCount]. */
export type Ev = [number, number, number, number];

/** INSTALL_EXPR bytes built field by field (wire-protocol §6). */
export function install(
  uid: number,
  events: Ev[],
  instrs: Instr[],
  opts: { numInstr?: number; numExpr?: number } = {},
): Buffer {
  const len = 20 + 16 * events.length + 16 * instrs.length;
  const b = Buffer.alloc(len);
  b.writeUInt16LE(2, 0);
  b.writeUInt16LE(len & 0xffff, 2);
  b.writeUInt32LE(uid, 8);
  b.writeUInt32LE(opts.numExpr ?? events.length, 12);
  b.writeUInt32LE(opts.numInstr ?? instrs.length, 16);
  events.forEach((e, k) => e.forEach((v, i) => b.writeUInt32LE(v >>> 0, 20 + 16 * k + 4 * i)));
  const base = 20 + 16 * events.length;
  instrs.forEach((ins, j) => {
    const o = base + 16 * j;
    b[o] = ins[0];
    b[o + 1] = ins[1];
    b.writeUInt32LE(ins[2] >>> 0, o + 2);
    b[o + 6] = ins[3];
    b.writeUInt32LE(ins[4] >>> 0, o + 7);
    b[o + 11] = ins[5];
    b.writeUInt32LE(ins[6] >>> 0, o + 12);
  });
  return b;
}

export type Upd = [type: number, index: number, value: bigint | number];

function records(b: Buffer, off: number, ups: Upd[]): void {
  ups.forEach(([t, i, v], k) => {
    const o = off + 13 * k;
    b[o] = t;
    b.writeUInt32LE(i >>> 0, o + 1);
    b.writeBigUInt64LE(BigInt(v), o + 5);
  });
}

/** UPDATE_FIELDS bytes; `count` overrides the u32 count field. */
export function updateFields(sid: number, ups: Upd[], count?: number): Buffer {
  const len = 12 + 13 * ups.length;
  const b = Buffer.alloc(len);
  b.writeUInt16LE(3, 0);
  b.writeUInt16LE(len, 2);
  b.writeUInt32LE(sid >>> 0, 4);
  b.writeUInt32LE((count ?? ups.length) >>> 0, 8);
  records(b, 12, ups);
  return b;
}

/** CHANGE_PROG bytes; `count` overrides the u32 count field. */
export function changeProg(sid: number, uid: number, ups: Upd[] = [], count?: number): Buffer {
  const len = 16 + 13 * ups.length;
  const b = Buffer.alloc(len);
  b.writeUInt16LE(4, 0);
  b.writeUInt16LE(len, 2);
  b.writeUInt32LE(sid >>> 0, 4);
  b.writeUInt32LE(uid >>> 0, 8);
  b.writeUInt32LE((count ?? ups.length) >>> 0, 12);
  records(b, 16, ups);
  return b;
}

/** Decode a MEASURE for assertions: [sid, uid, fields]. */
export function measure(b: Buffer): { sid: number; uid: number; fields: bigint[] } {
  if (b.readUInt16LE(0) !== 1) throw new Error(`not a MEASURE: ${b.toString('hex')}`);
  const n = b.readUInt32LE(12);
  const fields: bigint[] = [];
  for (let i = 0; i < n; i++) fields.push(b.readBigUInt64LE(16 + 8 * i));
  return { sid: b.readUInt32LE(4), uid: b.readUInt32LE(8), fields };
}

// Register type and opcode shorthands for hand-written programs.
export const R = { C: 0, IMM: 1, I: 2, L: 3, P: 4, RV: 5, RN: 6, T: 7, CV: 8 } as const;
export const O = {
  ADD: 0,
  BIND: 1,
  DEF: 2,
  DIV: 3,
  EQ: 4,
  EWMA: 5,
  GT: 6,
  IF: 7,
  LT: 8,
  MAX: 9,
  MAXWRAP: 10,
  MIN: 11,
  MUL: 12,
  NOTIF: 13,
  SUB: 14,
} as const;

/** `BIND dst ← src` (left = dst, as portus emits it). */
export function bind(rt: number, ri: number, st: number, si: number): Instr {
  return [O.BIND, rt, ri, rt, ri, st, si];
}
/** `DEF var ← #v`. */
export function def(t: number, i: number, v: number): Instr {
  return [O.DEF, t, i, t, i, R.IMM, v];
}
/** `op dst ← left op right`. */
export function ins(
  op: number,
  rt: number,
  ri: number,
  lt: number,
  li: number,
  gt: number,
  gi: number,
): Instr {
  return [op, rt, ri, lt, li, gt, gi];
}
export const TRUE: Instr = bind(R.I, 0, R.IMM, 1);
export const REPORT: Instr = bind(R.I, 2, R.IMM, 1);
export const FALLTHROUGH: Instr = bind(R.I, 1, R.IMM, 1);

/** INSTALL_EXPR for a DEF block followed by events laid out as portus does. */
export function program(uid: number, defs: Instr[], events: Array<{ cond: Instr[]; body: Instr[] }>): Buffer {
  const instrs: Instr[] = [...defs];
  const evs: Ev[] = [];
  for (const e of events) {
    const cs = instrs.length;
    instrs.push(...e.cond);
    const bs = instrs.length;
    instrs.push(...e.body);
    evs.push([cs, e.cond.length, bs, e.body.length]);
  }
  return install(uid, evs, instrs);
}
