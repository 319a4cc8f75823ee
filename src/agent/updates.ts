/**
 * Field updates: validation of values, resolution of field names against a program's scope, and
 * the UPDATE_FIELDS writer. The writer owns one preallocated output buffer (with one view per
 * possible length) and batches one flow's updates until the end of the current algorithm callback,
 * so the report → update hot path allocates nothing.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import { MsgType } from '../wire/index.ts';
import type { ProgramEntry } from './programs.ts';
import type { FieldUpdates, FieldValue } from './types.ts';

/** Most records one UPDATE_FIELDS carries. */
const MAX_UPDATES = 127;
const TWO32 = 2 ** 32;
const MAX_U64 = 2n ** 64n - 1n;
const MAX_U32 = 2 ** 32 - 1;
const CWND_TARGET = { regType: 2, regIndex: 4 };
const RATE_TARGET = { regType: 2, regIndex: 5 };

/** A register an update writes. */
export interface UpdateTarget {
  regType: number;
  regIndex: number;
}

/** What the writer needs to know about the flow it writes for. */
export interface UpdateFlow {
  readonly sid: number;
  /** The flow's datapath address. */
  readonly address: string;
  /** Dropped (READY/replace/close): nothing more is sent for it. */
  readonly gone: boolean;
  cwnd: number;
  rate: number;
}

/** Validate and normalise an update value (throws UPDATE_FIELD). */
export function checkValue(name: string, v: FieldValue): FieldValue {
  if (typeof v === 'bigint') {
    if (v < 0n || v > MAX_U64) {
      throw new PortusError(ErrorCodes.UPDATE_FIELD, `value of '${name}' is out of the u64 range: ${v}`);
    }
    return v;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new PortusError(
      ErrorCodes.UPDATE_FIELD,
      `value of '${name}' must be a finite non-negative number or bigint, got ${String(v)}`,
    );
  }
  const t = Math.floor(v);
  if (t >= 2 ** 64) {
    throw new PortusError(ErrorCodes.UPDATE_FIELD, `value of '${name}' is out of the u64 range: ${v}`);
  }
  return t;
}

/**
 * {@link checkValue}, plus the datapath's own limit for the register `t` writes: Cwnd and Rate are
 * u32 there (libccp hands `set_cwnd`/`set_rate_abs` the low 32 bits, so 2^32 + 5000 would become a
 * 5000-byte window). Throws UPDATE_FIELD.
 */
export function checkFieldValue(name: string, t: UpdateTarget, value: FieldValue): FieldValue {
  const v = checkValue(name, value);
  if (
    t.regType === CWND_TARGET.regType &&
    (t.regIndex === CWND_TARGET.regIndex || t.regIndex === RATE_TARGET.regIndex) &&
    v > MAX_U32
  ) {
    throw new PortusError(
      ErrorCodes.UPDATE_FIELD,
      `value of '${name}' is out of the datapath's u32 range (at most ${MAX_U32}): ${String(value)}; nothing sent`,
    );
  }
  return v;
}

/** Resolve a field name against a program (cached); Cwnd/Rate resolve without a program. */
export function resolveTarget(prog: ProgramEntry | null, name: string): UpdateTarget {
  if (prog === null) {
    if (name === 'Cwnd') return CWND_TARGET;
    if (name === 'Rate') return RATE_TARGET;
    throw new PortusError(
      ErrorCodes.UPDATE_FIELD,
      `cannot update '${name}': the flow runs no program yet (call setProgram or install first)`,
    );
  }
  let t = prog.targets.get(name);
  if (t === undefined) {
    t = prog.scope.resolveUpdate(name);
    prog.targets.set(name, t);
  }
  return t;
}

/** `{name: value}` or `[[name, value], ...]` as a list of pairs. */
export function updatePairs(fields: FieldUpdates): ReadonlyArray<readonly [string, FieldValue]> {
  return Array.isArray(fields)
    ? (fields as ReadonlyArray<readonly [string, FieldValue]>)
    : Object.entries(fields as Record<string, FieldValue>);
}

/**
 * Batches UPDATE_FIELDS records for one flow at a time. Inside an algorithm callback
 * ({@link enter}/{@link leave}) records accumulate and are sent when the callback returns, when
 * another flow is written, when the message is full, or on an explicit {@link flush}.
 */
export class UpdateWriter {
  private readonly out = Buffer.alloc(12 + 13 * MAX_UPDATES);
  private readonly views: Buffer[] = [];
  private pendFlow: UpdateFlow | null = null;
  private pendCount = 0;
  private inCallback = false;
  private readonly sendTo: (address: string, msg: Buffer) => void;

  constructor(send: (address: string, msg: Buffer) => void) {
    this.sendTo = send;
    for (let n = 0; n <= MAX_UPDATES; n++) this.views.push(this.out.subarray(0, 12 + 13 * n));
  }

  /** Whether an algorithm callback is running (updates are batched until it returns). */
  get batching(): boolean {
    return this.inCallback;
  }

  /** Start a callback; returns the previous state for {@link leave}. */
  enter(): boolean {
    const outer = this.inCallback;
    this.inCallback = true;
    return outer;
  }

  /** End a callback started with {@link enter}; the outermost one flushes. */
  leave(outer: boolean): void {
    this.inCallback = outer;
    if (!outer) this.flush();
  }

  /** Send the pending UPDATE_FIELDS, if any. */
  flush(): void {
    const f = this.pendFlow;
    const n = this.pendCount;
    this.pendFlow = null;
    this.pendCount = 0;
    if (f === null || n === 0) return;
    const out = this.out;
    put16(out, 0, MsgType.UPDATE_FIELDS);
    put16(out, 2, 12 + 13 * n);
    put32(out, 4, f.sid);
    put32(out, 8, n);
    if (f.gone) return; // flow dropped (READY/replace) inside its own callback: nothing to send
    this.sendTo(f.address, this.views[n]);
  }

  /** Queue one validated update for `f` (sent at once outside a callback). */
  add(f: UpdateFlow, regType: number, regIndex: number, value: FieldValue): void {
    if (this.pendFlow !== f) {
      this.flush();
      this.pendFlow = f;
    }
    const out = this.out;
    const o = 12 + 13 * this.pendCount;
    out[o] = regType;
    put32(out, o + 1, regIndex);
    if (typeof value === 'bigint') out.writeBigUInt64LE(value, o + 5);
    else {
      put32(out, o + 5, value % TWO32);
      put32(out, o + 9, Math.floor(value / TWO32));
    }
    this.pendCount++;
    if (this.pendCount === MAX_UPDATES) this.flush();
    if (regType === 2) {
      if (regIndex === 4) f.cwnd = Number(value);
      else if (regIndex === 5) f.rate = Number(value);
    }
  }

  /** Flush unless a callback is running (the callback's end flushes then). */
  done(): void {
    if (!this.inCallback) this.flush();
  }
}

// Plain byte stores (values are validated u16/u32 already): cheaper than Buffer's checked writers.
function put16(b: Buffer, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
function put32(b: Buffer, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
