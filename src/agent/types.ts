/**
 * Public types of the algorithm API (both styles).
 * @module
 */

/** A value for a control variable, `Cwnd` or `Rate`: a non-negative integer (u64 on the wire). */
export type FieldValue = number | bigint;

/**
 * Named updates: an object (`{ Cwnd: 14480, gain: 2 }`) or a list of pairs
 * (`[['Cwnd', 14480], ['gain', 2]]`, applied in list order).
 */
export type FieldUpdates =
  Readonly<Record<string, FieldValue>> | ReadonlyArray<readonly [string, FieldValue]>;

/** What the datapath told us about a flow in its CREATE message. */
export interface DatapathInfo {
  /** The flow's socket id (sid), unique per datapath while the flow lives. */
  readonly sockId: number;
  /** Initial congestion window in bytes. */
  readonly initCwnd: number;
  /** Maximum segment size in bytes. */
  readonly mss: number;
  /**
   * IPv4 source address: the raw u32 of the CREATE. ccp-kernel sends it in network byte order;
   * `ipv4String(info.srcIp)` gives the dotted quad (see also `flowEndpoints(info)`).
   */
  readonly srcIp: number;
  /** Source port: the raw u32 of the CREATE (ccp-kernel: network byte order; `portNumber()` reads it). */
  readonly srcPort: number;
  /** IPv4 destination address, raw, as {@link srcIp}. */
  readonly dstIp: number;
  /** Destination port, raw, as {@link srcPort}. */
  readonly dstPort: number;
  /** The congestion-algorithm name the datapath asked for ('' if none). */
  readonly congAlg: string;
}

/**
 * The per-flow handle an algorithm uses to control its flow in the datapath. Every method
 * validates everything before sending anything; on error it throws a `PortusError` and sends
 * nothing.
 */
export interface DatapathHandle {
  /** The flow's socket id. */
  readonly sockId: number;
  /** Uid of the program this flow was last switched to (0 before the first switch). */
  readonly programUid: number;
  /** Name of that program (for `install`ed programs: `'installed#<uid>'`), or '' before the first switch. */
  readonly programName: string;
  /** Last Cwnd value (bytes) sent to the datapath for this flow; the CREATE's initCwnd before any. */
  readonly cwnd: number;
  /** Last Rate value (bytes/s) sent to the datapath for this flow; 0 before any. */
  readonly rate: number;
  /**
   * The agent's clock in microseconds (monotonic; simulated time when the agent runs under the
   * simulator or the testing kit). Algorithms that need time (Cubic's epoch, deficit timeouts)
   * must use this rather than `Date.now()`, so that they behave the same in simulation.
   */
  now(): number;
  /**
   * Switch the flow to the program `name` (one of the algorithm's `datapathPrograms()` / a classic
   * class's static `programs`), with initial values resolved against that program's Scope.
   * Throws `UNKNOWN_PROGRAM` or `UPDATE_FIELD`.
   */
  setProgram(name: string, fields?: FieldUpdates): void;
  /**
   * Classic style: compile `source` (throws `CompileError` with line/column), install it on this
   * flow's datapath unless an identical program is already installed there, and switch this flow
   * to it with `fields` as initial values. Throws `PROGRAM_TABLE_FULL` when the datapath's program
   * table (default 9 programs) is full.
   */
  install(source: string, fields?: FieldUpdates): void;
  /**
   * Set one field of the current program: a control variable, or `Cwnd` (bytes) / `Rate`
   * (bytes/s). Cwnd and Rate are u32 in the datapath: a value of 2^32 or more throws
   * `UPDATE_FIELD` and sends nothing (libccp would silently truncate it).
   */
  updateField(name: string, value: FieldValue): void;
  /** Set several fields at once (split into messages of at most 127 updates). */
  updateFields(fields: FieldUpdates): void;
}

/**
 * Members every report has, whatever its program. Report fields themselves are read as properties
 * (`r.acked`, for the program's `Report.acked`) or with {@link ReportBase.get}.
 *
 * A Report is only valid during the `onReport` call it is passed to (the agent reuses one object
 * per flow and program and reads field values lazily from the received message); reading a field
 * afterwards throws `STALE_REPORT`. Copy the values you need to keep.
 */
export interface ReportBase {
  /** The flow's socket id. */
  readonly sockId: number;
  /**
   * The datapath this report came from: its transport address (a Unix socket path, `netlink`,
   * the character device's path), as portus' `Report::from`. Socket ids are unique per datapath
   * only, so `(from, sockId)` identifies a flow across datapaths.
   */
  readonly from: string;
  /** Uid of the program that produced this report (from the MEASURE message). */
  readonly programUid: number;
  /**
   * The flow's last known congestion window in bytes: the last Cwnd the agent sent for this flow
   * (CHANGE_PROG / UPDATE_FIELDS), or the CREATE's initCwnd before any. It is NOT read from the
   * datapath: changes the datapath made on its own (e.g. kernel loss recovery) are not reflected;
   * report `Cwnd` from your program if you need the datapath's value.
   */
  readonly Cwnd: number;
  /** The flow's last known pacing rate in bytes/s, in the same sense as {@link Cwnd} (0 = never set). */
  readonly Rate: number;
  /**
   * A report field as a number (exact below 2^53). Accepts the short (`'acked'`) or full
   * (`'Report.acked'`) name. Throws `REPORT_FIELD` for a name that is not a Report variable of the
   * program, and `STALE_REPORT` for a stale report or after `onReport` returned.
   */
  get(name: string): number;
  /** A report field as a bigint (the full u64). Same rules as {@link get}. */
  getBig(name: string): bigint;
  /**
   * True if, when this report was delivered, the flow had already been switched to another program
   * (the report crossed a CHANGE_PROG); reading fields then throws. A switch made inside this
   * `onReport` does not make the report stale. Reading a field of a stale report throws
   * `STALE_REPORT`.
   */
  isStale(): boolean;
  /** The name of the program that produced this report. */
  programName(): string;
  /** The full names of the program's Report variables, in MEASURE order. */
  fieldNames(): readonly string[];
}

/**
 * A report from the datapath: {@link ReportBase} plus one numeric property per Report variable,
 * named by its short name (`r.acked` for `Report.acked`). Short names that collide with a
 * {@link ReportBase} member are only reachable through `get`.
 */
export type Report = ReportBase & { readonly [field: string]: number };

/** A flow of a portus-style {@link Algorithm}. */
export interface Flow {
  /** Called for every report of this flow. */
  onReport(r: Report): void;
  /** Called once when the flow closes (datapath close signal, or agent shutdown). */
  close?(): void;
}

/**
 * A portus-style algorithm: a set of named datapath programs (compiled and checked when the agent
 * starts) and a factory of per-flow objects.
 */
export interface Algorithm {
  /** Name matched (exactly) against the congestion-algorithm name in the datapath's CREATE. */
  readonly name: string;
  /** Program name → program source. Called once at start-up. */
  datapathPrograms(): Record<string, string>;
  /** Create the flow object; usually calls `datapath.setProgram(...)` right away. */
  newFlow(datapath: DatapathHandle, info: DatapathInfo): Flow;
}
