/**
 * The datapath object (`datapath-machine.md` §1.1): configuration, the connection slots, the program
 * table, the fallback timer state and the preallocated message buffers, shared by the files that
 * implement the machine's parts.
 * @module
 */
import type { Conn } from './connection.ts';
import type { Program } from './program.ts';
import type { DatapathConfig, LogLevel } from './types.ts';
import { low32 } from './u64.ts';

/** The global state of one datapath. */
export interface Machine {
  readonly cfg: DatapathConfig;
  readonly maxConnections: number;
  readonly maxPrograms: number;
  readonly ftoUs: number;
  readonly id: number;
  /** `cfg.now()` in whole microseconds. */
  readonly now: () => number;
  readonly log: ((level: LogLevel, msg: string) => void) | undefined;
  /** Whether programs run compiled (`jit.ts`) or interpreted. */
  readonly compiled: boolean;
  initialized: boolean;
  timeZero: number;
  /** Fallback timer (§8): time of the first failed send since the agent last spoke, or 0. */
  lastMsgSent: number;
  inFallback: boolean;
  /** Connection slots; `slotIndex[i]` is libccp's `index` (0 = free, else i + 1 = sid). */
  readonly slots: Array<Conn | null>;
  readonly slotIndex: Int32Array;
  /** libccp's `last_create_msg_sent` per slot; survives slot reuse (§3.2). */
  readonly lastCreateSent: Float64Array;
  active: number;
  /** The program table (§7.1), `maxPrograms` entries once initialised. */
  table: Array<Program | null>;
  readonly createBuf: Buffer;
  readonly closeBuf: Buffer;
  /** `reportViews[n]`: the MEASURE buffer sized for n report registers. */
  readonly reportViews: Buffer[];
}

/** The state of a datapath created with `cfg`, not yet initialised. */
export function createMachine(cfg: DatapathConfig): Machine {
  const maxConnections = cfg.maxConnections ?? 1024;
  const slotIndex = new Int32Array(Math.max(0, Math.min(maxConnections, 65535)));
  const reportBuf = Buffer.alloc(16 + 8 * 110);
  const reportViews: Buffer[] = [];
  for (let n = 0; n <= 110; n++) reportViews.push(reportBuf.subarray(0, 16 + 8 * n));
  return {
    cfg,
    maxConnections,
    maxPrograms: cfg.maxPrograms ?? 10,
    ftoUs: cfg.ftoUs ?? 1000,
    id: cfg.id ?? 0,
    now: (): number => Math.floor(cfg.now()),
    log: cfg.log,
    compiled: (cfg.engine ?? 'compiled') === 'compiled',
    initialized: false,
    timeZero: 0,
    lastMsgSent: 0,
    inFallback: false,
    slots: [],
    slotIndex,
    lastCreateSent: new Float64Array(slotIndex.length),
    active: 0,
    table: [],
    createBuf: Buffer.alloc(96),
    closeBuf: Buffer.alloc(16),
    reportViews,
  };
}

/** The program in table slot `pid` (1-based), or null when none is installed there (§4.2 step 1). */
export function lookupProgram(m: Machine, pid: number): Program | null {
  if (pid === 0 || pid > m.maxPrograms) return null;
  const p = m.table[pid - 1];
  return p && p.index === pid ? p : null;
}

/** An empty program table. */
export function emptyTable(m: Machine): Array<Program | null> {
  return new Array<Program | null>(m.maxPrograms).fill(null);
}

/** A failed send arms the fallback timer (§8) unless it is already running. */
export function armFallback(m: Machine): void {
  if (m.lastMsgSent === 0) m.lastMsgSent = m.now();
}

/** `set_cwnd` (§1.1) with the register value truncated to 32 bits. */
export function applyCwnd(m: Machine, c: Conn, v: number | bigint): void {
  m.cfg.setCwnd(c, low32(v));
}

/** `set_rate_abs` (§1.1) with the register value truncated to 32 bits. */
export function applyRate(m: Machine, c: Conn, v: number | bigint): void {
  m.cfg.setRate(c, low32(v));
}
