/**
 * Public types of the libccp-compatible datapath machine (`shared/spec/datapath-machine.md`).
 * @module
 */

/** Log levels, as libccp's `log` callback has them. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Configuration of one datapath (one libccp `struct ccp_datapath`). */
export interface DatapathConfig {
  /** Datapath id sent in READY (default 0, as ccp-kernel). */
  id?: number;
  /** Connection slots (default 1024, as ccp-kernel). sids are 1..maxConnections; at most 65535. */
  maxConnections?: number;
  /** Program table slots (default 10, as ccp-kernel; N slots hold N - 1 programs). */
  maxPrograms?: number;
  /** Fallback timeout in µs (default 1000, as ccp-kernel). */
  ftoUs?: number;
  /** Current time in microseconds on the caller's clock (simulated or wall). Must not go backwards. */
  now(): number;
  /**
   * Send one message to the agent. Return 0 on success, like libccp's `send_msg`: any other value
   * (even positive) counts as a failure and arms the fallback timer. The buffer may be reused by
   * the datapath as soon as `send` returns, so copy it if you keep it.
   */
  send(msg: Buffer): number;
  /** Apply a congestion window in bytes (a u32, as libccp passes it). */
  setCwnd(conn: Connection, bytes: number): void;
  /** Apply a pacing rate in bytes per second (a u32, as libccp passes it). */
  setRate(conn: Connection, bytesPerSec: number): void;
  /** Optional logger; libccp's messages plus the machine's own rejections of defective input. */
  log?(level: LogLevel, msg: string): void;
  /**
   * How programs run in the exact-double fast path: 'compiled' (default) turns each installed
   * program into a specialised JavaScript function; 'interpreted' runs the pre-decoded bytecode.
   * Both have identical results (tests run both); the interpreter is the reference.
   */
  engine?: 'compiled' | 'interpreted';
}

/** Per-flow information copied at connection start and sent in CREATE. */
export interface FlowInfo {
  /** Initial congestion window in bytes. */
  initCwnd: number;
  /** Maximum segment size in bytes. */
  mss: number;
  /** Opaque u32 (ccp-kernel: network byte order read as little-endian). */
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  /** Requested algorithm name, at most 64 bytes (Latin-1); '' = none. */
  congAlg: string;
}

/**
 * The per-ACK measurements the datapath fills in before each `invoke` (libccp `struct
 * ccp_primitives`). u32 fields are converted like C does (ToUint32: truncated, mod 2^32);
 * u64 fields (`rttSampleUs`, `rateOutgoing`, `rateIncoming`, `sndRate`) are truncated toward zero
 * (negative or NaN read as 0).
 */
export interface Primitives {
  bytesAcked: number;
  packetsAcked: number;
  bytesMisordered: number;
  packetsMisordered: number;
  ecnBytes: number;
  ecnPackets: number;
  lostPktsSample: number;
  bytesInFlight: number;
  packetsInFlight: number;
  /** The datapath's current window in bytes (loaded into `Cwnd` before every run). */
  sndCwnd: number;
  bytesPending: number;
  /** RTT sample in µs; 0 reads as 4294967295 in programs. */
  rttSampleUs: number;
  rateOutgoing: number;
  rateIncoming: number;
  /** The datapath's current rate (loaded into `Rate` before every run; ccp-kernel: always 0). */
  sndRate: number;
  wasTimeout: boolean;
}

/** One flow in a connection slot. */
export interface Connection {
  /** Socket id = slot + 1. */
  readonly sid: number;
  /** Copy of the flow information given at start. */
  readonly info: FlowInfo;
  /** Fill these before each `invoke`. */
  prims: Primitives;
  /** Free for the caller's use (libccp's `impl`). */
  user?: unknown;
}

/** Snapshot of a connection's registers (for tests and debugging; allocates). */
export interface RegisterSnapshot {
  report: bigint[];
  control: bigint[];
  implicit: bigint[];
  tmp: bigint[];
  local: bigint[];
  /** 1-based program-table slot the flow runs (0 = none). */
  programIndex: number;
  /** Staged program slot, -1 = none. */
  stagedProgramIndex: number;
  /** Whether CREATE has been sent successfully. */
  sentCreate: boolean;
}

/** Snapshot of one program-table slot (for tests and debugging). */
export interface ProgramSlot {
  /** 1-based slot index. */
  index: number;
  uid: number;
  numExpressions: number;
  numInstructions: number;
  /** libccp's `num_to_return` as currently stored. */
  numToReturn: number;
}

/** A libccp-compatible datapath. Return codes are libccp's (`wire-protocol.md` §11). */
export interface Datapath {
  /** `ccp_init`: validate the configuration, send READY. 0, or -11 for a bad configuration. */
  init(): number;
  /** `ccp_connection_start`: claim the lowest free slot and send CREATE; null when full. */
  startConnection(info: FlowInfo): Connection | null;
  /**
   * Register again with a new agent (beyond libccp, which has no way back after an agent restart):
   * send READY, empty the program table, and send a CREATE for every live connection, whose
   * program is reset until the new agent's CHANGE_PROG arrives. Returns READY's send result.
   */
  reconnect(): number;
  /** `ccp_connection_free`: send the close MEASURE and free the slot. */
  freeConnection(sid: number): void;
  /** `ccp_invoke`: run the flow's program once (fill `conn.prims` first). */
  invoke(conn: Connection): number;
  /** `ccp_read_msg`: handle the first message of a received buffer. */
  receive(buf: Uint8Array): number;
  /** The connection with this sid, or null. */
  connection(sid: number): Connection | null;
  /** Number of connections in use. */
  activeConnections(): number;
  /** Whether the datapath is in fallback as of the last check (invoke). */
  inFallback(): boolean;
  /** Register snapshot of a connection (allocates; not for hot paths). */
  registers(conn: Connection): RegisterSnapshot;
  /** Occupied program-table slots. */
  programs(): ProgramSlot[];
}

/** A Primitives object with every field zero. */
export function zeroPrimitives(): Primitives {
  return {
    bytesAcked: 0,
    packetsAcked: 0,
    bytesMisordered: 0,
    packetsMisordered: 0,
    ecnBytes: 0,
    ecnPackets: 0,
    lostPktsSample: 0,
    bytesInFlight: 0,
    packetsInFlight: 0,
    sndCwnd: 0,
    bytesPending: 0,
    rttSampleUs: 0,
    rateOutgoing: 0,
    rateIncoming: 0,
    sndRate: 0,
    wasTimeout: false,
  };
}
