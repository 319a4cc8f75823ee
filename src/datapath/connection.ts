/**
 * The connection (`datapath-machine.md` §1.2): one flow's slot, libccp's `ccp_connection` plus its
 * private state (`ccp_priv_state`): the register file, the Micros clock, the program indices and
 * the staged updates.
 * @module
 */
import { CONST } from './program.ts';
import type { Program } from './program.ts';
import type { Connection, FlowInfo, Primitives } from './types.ts';
import { zeroPrimitives } from './types.ts';

/** Staged-update slots: 0–109 control registers, 110 Cwnd, 111 Rate. */
export const P_CWND = 110;
export const P_RATE = 111;
const STAGED_SLOTS = 112;

/** Per-flow state: libccp's `ccp_connection` plus `ccp_priv_state`. */
export class Conn implements Connection {
  readonly sid: number;
  readonly info: FlowInfo;
  prims: Primitives;
  user?: unknown;
  /** false once freed (libccp: private state freed). */
  alive = true;
  sentCreate = false;
  programIndex = 0;
  stagedProgramIndex = -1;
  /** The register file while every value is below 2^53 (`registers.ts`). */
  r: Float64Array;
  /** The register file in BigInt mode (allocated on first use). */
  rb: BigUint64Array | null = null;
  big = false;
  /** Program whose constants are in the constant area. */
  loaded: Program | null = null;
  /** Micros clock: Micros = (now - tzNow) + tzV  (mod 2^64). */
  tzNow = 0;
  tzV = 0;
  tzVBig = 0n;
  tzIsBig = false;
  /** Staged updates (§7.3): a flag and a value per slot, BigInt values when ≥ 2^53. */
  pendingAny = false;
  pendingFlags = new Uint8Array(STAGED_SLOTS);
  pendingVals = new Float64Array(STAGED_SLOTS);
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
