/**
 * Decoding an INSTALL_EXPR body into the machine's program representation, with libccp's partial
 * decoding (`datapath-machine.md` §7.1) and the rejections of inputs libccp would mis-handle.
 *
 * Register file layout (one Float64Array / BigUint64Array per connection). The first 242 entries
 * mirror libccp's `struct register_file` exactly, so its unchecked reads alias the same neighbours
 * (tmp index 8–15 reads local 0–7, report index 110+ reads control registers, ...):
 *
 * | offset | contents |
 * |---|---|
 * | 0–109 | report registers |
 * | 110–219 | control registers |
 * | 220–225 | implicit registers |
 * | 226–233 | tmp registers |
 * | 234–241 | local registers |
 * | 242–256 | primitives 0–14, loaded at each invocation |
 * | 257 | constant 0 (unknown primitive index) |
 * | 258 | sink for dropped writes (never read) |
 * | 259… | the program's immediates |
 * @module
 */
import { Libccp } from './codes.ts';

export const REPORT = 0;
export const CONTROL = 110;
export const IMPL = 220;
export const TMP = 226;
export const LOCAL = 234;
/** Size of libccp's register file. */
export const FILE = 242;
export const PRIM = 242;
export const ZERO = 257;
export const SINK = 258;
export const CONST = 259;
/** Destination code of a write to the Micros register (it also restarts the Micros clock). */
export const MICROS_DST = -1;
/** Words per instruction in {@link Program.code}: op, write dst, left src, right src, result src. */
export const STRIDE = 5;
/** libccp's `MAX_INSTRUCTIONS` / `MAX_EXPRESSIONS`. */
export const MAX_INSTRUCTIONS = 256;
export const MAX_EXPRESSIONS = 256;
export const MAX_REPORT_REG = 110;
/** DEF sentinel replaced by 0xFFFFFFFF when defaults are applied (`datapath-machine.md` §6.3). */
export const DEF_SENTINEL = 0x3fffffff;

const OP_DEF = 2;

/** A program as stored in one program-table slot. */
export interface Program {
  uid: number;
  /** 1-based slot index. */
  index: number;
  numExpressions: number;
  numInstructions: number;
  /** Per event: cond start, cond end, body start, body end (start as libccp's u8, end as u32). */
  events: Int32Array;
  /** All 256 instruction slots, STRIDE words each (unused slots are zero instructions). */
  code: Int32Array;
  /** Immediate values, copied to offset CONST… of the register file. */
  consts: Float64Array;
  /** reset_state: write offsets and defaults of volatile DEFs (types 5, 8). */
  resetOffs: Int32Array;
  resetVals: Float64Array;
  /** Number of report DEFs (types 5, 6) in the leading DEF block. */
  reportDefs: number;
  /** Whether the DEF scan reaches a non-DEF instruction (only then is num_to_return stored). */
  storesCount: boolean;
  /** init_register_state: write offsets and defaults of DEFs of types 0, 6. */
  initOffs: Int32Array;
  initVals: Float64Array;
  /** libccp's `num_to_return`, stored by reset_state (0 for a fresh slot). */
  numToReturn: number;
  /** Compiled fast path (undefined: not compiled yet; null: too large, interpreted). */
  fast?: ((r: Float64Array, c: unknown, now: () => number) => number) | null;
}

/** Result of decoding an INSTALL body: a program (possibly partial) plus libccp's result code. */
export interface DecodedInstall {
  /** 0, or the decode error (-33…-37) with which libccp leaves a partial program in the slot. */
  code: number;
  program: Program;
}

/** Rejection of an input libccp would mis-handle; nothing is changed. */
export interface InstallRejection {
  reject: number;
  reason: string;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Offset read by a register operand of (type, u32 field); -3 if outside libccp's register file. */
function readOffset(type: number, field: number): number {
  const i = field | 0; // libccp stores the index in an `int`
  let off: number;
  switch (type) {
    case 0:
    case 8:
      off = CONTROL + i;
      break;
    case 2:
      off = IMPL + i;
      break;
    case 3:
      off = LOCAL + i;
      break;
    case 4:
      return i >= 0 && i <= 14 ? PRIM + i : ZERO;
    case 5:
    case 6:
      off = REPORT + i;
      break;
    case 7:
      off = TMP + i;
      break;
    default:
      return -3;
  }
  return off >= 0 && off < FILE ? off : -3;
}

/** Offset written by a result of (type, u32 field): SINK when libccp drops the write. */
export function writeOffset(type: number, field: number): number {
  const i = field | 0;
  switch (type) {
    case 0:
    case 8:
      return i >= 0 && i < 110 ? CONTROL + i : SINK;
    case 5:
    case 6:
      return i >= 0 && i < 110 ? REPORT + i : SINK;
    case 7:
      return i >= 0 && i < 8 ? TMP + i : SINK;
    case 3:
      return i >= 0 && i < 8 ? LOCAL + i : SINK;
    case 2:
      if (i === 3) return MICROS_DST;
      return i === 0 || i === 1 || i === 2 || i === 4 || i === 5 ? IMPL + i : SINK;
    default:
      return SINK;
  }
}

/** Readable: inside the register file, a primitive, the zero slot or a constant. */
const okRead = (off: number): boolean => off >= 0;

/**
 * Decode an INSTALL_EXPR body (message at `buf[0..]`, header already checked) the way libccp does.
 * Returns a rejection (nothing to store) for inputs that would overflow libccp's memory, read outside
 * its register file, or hang it; otherwise the program to store and libccp's result code.
 */
export function decodeInstall(buf: Uint8Array): DecodedInstall | InstallRejection {
  if (buf.length < 20) {
    return {
      reject: Libccp.BUFSIZE_TOO_SMALL,
      reason: `INSTALL_EXPR header needs 20 bytes, buffer has ${buf.length}`,
    };
  }
  const uid = u32(buf, 8);
  const numExpr = u32(buf, 12);
  const numInstr = u32(buf, 16);
  if (numExpr > MAX_EXPRESSIONS) {
    return {
      reject: Libccp.INSTALL_TOO_MANY_EXPR,
      reason: `program ${uid}: ${numExpr} expressions > ${MAX_EXPRESSIONS} would overflow libccp's program slot (wire-protocol §9)`,
    };
  }
  if (numInstr > MAX_INSTRUCTIONS) {
    return {
      reject: Libccp.INSTALL_TOO_MANY_INSTR,
      reason: `program ${uid}: ${numInstr} instructions > ${MAX_INSTRUCTIONS} would overflow libccp's program slot (wire-protocol §9)`,
    };
  }
  const exprBase = 20;
  const instrBase = exprBase + 16 * numExpr;
  if (instrBase > buf.length) {
    return {
      reject: Libccp.BUFSIZE_TOO_SMALL,
      reason: `program ${uid}: expression records extend past the received buffer (wire-protocol §11 note 28)`,
    };
  }
  const events = new Int32Array(numExpr * 4);
  for (let k = 0; k < numExpr; k++) {
    const o = exprBase + 16 * k;
    const cs = u32(buf, o);
    const cn = u32(buf, o + 4);
    const bs = u32(buf, o + 8);
    const bn = u32(buf, o + 12);
    const ce = (cs + cn) >>> 0;
    const be = (bs + bn) >>> 0;
    if (ce > 255 || be > 255) {
      return {
        reject: Libccp.INSTALL_TOO_MANY_INSTR,
        reason:
          `program ${uid}: event ${k} has an instruction range ending at ${Math.max(ce, be)} > 255; ` +
          `libccp's 8-bit instruction counter would loop forever (wire-protocol §6.7, datapath-machine §5.4)`,
      };
    }
    events[k * 4] = cs & 255;
    events[k * 4 + 1] = ce;
    events[k * 4 + 2] = bs & 255;
    events[k * 4 + 3] = be;
  }

  // Raw instruction memory: 256 zeroed slots [op, rt, ri, lt, li, gt, gi] as libccp's slot holds them.
  const raw = new Int32Array(MAX_INSTRUCTIONS * 7);
  let code = 0;
  for (let j = 0; j < numInstr; j++) {
    const o = instrBase + 16 * j;
    if (o + 16 > buf.length) {
      return {
        reject: Libccp.BUFSIZE_TOO_SMALL,
        reason: `program ${uid}: instruction ${j} extends past the received buffer (wire-protocol §11 note 28)`,
      };
    }
    const op = buf[o]!;
    const rt = buf[o + 1]!;
    const lt = buf[o + 6]!;
    const gt = buf[o + 11]!;
    const w = j * 7;
    if (op >= 15) {
      code = Libccp.READ_INVALID_OP;
      break;
    }
    raw[w] = op;
    if (rt === 1 || rt === 4) {
      code = Libccp.READ_REG_NOT_ALLOWED;
      break;
    }
    if (rt > 8) {
      code = Libccp.READ_INVALID_RETURN_REG;
      break;
    }
    raw[w + 1] = rt;
    raw[w + 2] = u32(buf, o + 2) | 0;
    if (lt > 8) {
      code = Libccp.READ_INVALID_LEFT_REG;
      break;
    }
    raw[w + 3] = lt;
    raw[w + 4] = u32(buf, o + 7) | 0;
    if (gt > 8) {
      code = Libccp.READ_INVALID_RIGHT_REG;
      break;
    }
    raw[w + 5] = gt;
    raw[w + 6] = u32(buf, o + 12) | 0;
  }

  // Lower to bytecode; immediates go to the constant area (deduplicated).
  const constVals: number[] = [];
  const constIdx = new Map<number, number>();
  const constOf = (v: number): number => {
    let k = constIdx.get(v);
    if (k === undefined) {
      k = constVals.length;
      constVals.push(v);
      constIdx.set(v, k);
    }
    return CONST + k;
  };
  const src = (type: number, field: number): number =>
    type === 1 ? constOf(field >>> 0) : readOffset(type, field);
  const bc = new Int32Array(MAX_INSTRUCTIONS * STRIDE);
  for (let j = 0; j < MAX_INSTRUCTIONS; j++) {
    const w = j * 7;
    const op = raw[w]!;
    const l = src(raw[w + 3]!, raw[w + 4]!);
    const r = src(raw[w + 5]!, raw[w + 6]!);
    const rr = raw[w + 1] === 1 ? constOf(raw[w + 2]! >>> 0) : readOffset(raw[w + 1]!, raw[w + 2]!);
    const reachable = isReachable(events, j);
    if (reachable && op !== OP_DEF) {
      const bad = !okRead(l) ? 'left' : !okRead(r) ? 'right' : op === 5 && !okRead(rr) ? 'result' : '';
      if (bad !== '') {
        return {
          reject:
            bad === 'left'
              ? Libccp.READ_INVALID_LEFT_REG
              : bad === 'right'
                ? Libccp.READ_INVALID_RIGHT_REG
                : Libccp.READ_INVALID_RETURN_REG,
          reason:
            `program ${uid}: instruction ${j} reads its ${bad} operand outside libccp's register file ` +
            `(unchecked read of adjacent memory, wire-protocol §6.4)`,
        };
      }
    }
    const k = j * STRIDE;
    bc[k] = op;
    bc[k + 1] = writeOffset(raw[w + 1]!, raw[w + 2]!);
    bc[k + 2] = okRead(l) ? l : ZERO;
    bc[k + 3] = okRead(r) ? r : ZERO;
    bc[k + 4] = okRead(rr) ? rr : ZERO;
  }

  // The DEF block scans (reset_state, init_register_state): from instruction 0 to the first non-DEF,
  // bounded by num_instructions.
  const resetOffs: number[] = [];
  const resetVals: number[] = [];
  const initOffs: number[] = [];
  const initVals: number[] = [];
  let reportDefs = 0;
  let storesCount = false;
  for (let j = 0; j < numInstr; j++) {
    const w = j * 7;
    if (raw[w] !== OP_DEF) {
      storesCount = true;
      break;
    }
    const lt = raw[w + 3]!;
    const li = raw[w + 4]!;
    let dv = raw[w + 5] === 1 ? raw[w + 6]! >>> 0 : 0;
    if (dv === DEF_SENTINEL) dv = 0xffffffff;
    if (lt === 5 || lt === 6) reportDefs++;
    if (lt === 5 || lt === 8) {
      resetOffs.push(writeOffset(lt, li));
      resetVals.push(dv);
    }
    if (lt === 0 || lt === 6) {
      initOffs.push(writeOffset(lt, li));
      initVals.push(dv);
    }
  }
  if (!storesCount && numInstr === MAX_INSTRUCTIONS) {
    return {
      reject: Libccp.INSTALL_TOO_MANY_INSTR,
      reason: `program ${uid}: 256 DEF instructions; libccp's 8-bit DEF scan would loop forever (wire-protocol §6.7)`,
    };
  }
  if (reportDefs > MAX_REPORT_REG) {
    return {
      reject: Libccp.INSTALL_TOO_MANY_INSTR,
      reason: `program ${uid}: ${reportDefs} report variables > ${MAX_REPORT_REG}; libccp's report would overflow its buffer (wire-protocol §5)`,
    };
  }
  return {
    code,
    program: {
      uid,
      index: 0,
      numExpressions: numExpr,
      numInstructions: numInstr,
      events,
      code: bc,
      consts: Float64Array.from(constVals),
      resetOffs: Int32Array.from(resetOffs),
      resetVals: Float64Array.from(resetVals),
      reportDefs,
      storesCount,
      initOffs: Int32Array.from(initOffs),
      initVals: Float64Array.from(initVals),
      numToReturn: 0,
    },
  };
}

function isReachable(events: Int32Array, j: number): boolean {
  for (let k = 0; k < events.length; k += 4) {
    if ((j >= events[k]! && j < events[k + 1]!) || (j >= events[k + 2]! && j < events[k + 3]!)) return true;
  }
  return false;
}

/** The placeholder libccp leaves in the last slot when its slot search fails (uid 0, empty). */
export function placeholderProgram(index: number): Program {
  return {
    uid: 0,
    index,
    numExpressions: 0,
    numInstructions: 0,
    events: new Int32Array(0),
    code: zeroCode(),
    consts: new Float64Array(0),
    resetOffs: new Int32Array(0),
    resetVals: new Float64Array(0),
    reportDefs: 0,
    storesCount: false,
    initOffs: new Int32Array(0),
    initVals: new Float64Array(0),
    numToReturn: 0,
  };
}

function zeroCode(): Int32Array {
  const bc = new Int32Array(MAX_INSTRUCTIONS * STRIDE);
  for (let j = 0; j < MAX_INSTRUCTIONS; j++) {
    bc[j * STRIDE + 1] = CONTROL;
    bc[j * STRIDE + 2] = CONTROL;
    bc[j * STRIDE + 3] = CONTROL;
    bc[j * STRIDE + 4] = CONTROL;
  }
  return bc;
}
