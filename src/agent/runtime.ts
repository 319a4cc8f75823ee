/**
 * The agent runtime (spec datapath-machine.md §10): datapaths keyed by transport address, a flow
 * table per datapath, dispatch of READY / CREATE / MEASURE, program installation, and the
 * per-flow {@link DatapathHandle}.
 *
 * Hot path (MEASURE → onReport → UPDATE_FIELDS) allocates nothing per message: the flow's Report
 * object is reused and reads fields lazily from the receive buffer; updates are written into one
 * preallocated output buffer (sent through preallocated views) and flushed once per callback.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { CompileError, ErrorCodes, PortusError, WireError } from '../errors.ts';
import type { Transport } from '../ipc/index.ts';
import { compile, type Program, type Scope } from '../lang/index.ts';
import {
  MsgType,
  decode,
  encodeChangeProg,
  encodeInstall,
  forEachMessage,
  measureFieldCount,
  measureNumFields,
  measureProgramUid,
  readSid,
  type CreateMsg,
  type UpdateRecord,
} from '../wire/index.ts';
import { classicAlgorithm, isAlgClass, type AlgClass } from './classic.ts';
import { formatMessage } from './format.ts';
import { createLogger, type Logger } from './log.ts';
import { makeReportClass, type ReportClass, type ReportImpl } from './report.ts';
import type {
  Algorithm,
  DatapathHandle,
  DatapathInfo,
  FieldUpdates,
  FieldValue,
  Flow,
  Report,
} from './types.ts';

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** An open transport (see `src/ipc`); the agent owns it from now on and closes it in `close()`. */
  transport: Transport;
  /** Algorithms, portus style or classic classes, in registration order (this fixes program uids). */
  algorithms: ReadonlyArray<Algorithm | AlgClass>;
  /** Name of the algorithm for flows whose CREATE names none of them (default: the first). */
  defaultAlgorithm?: string;
  /** Log every message in and out, decoded, one line each. */
  debug?: boolean;
  /** Where to log (default: stderr, level debug if `debug` else info). */
  log?: Logger;
  /** Programs a datapath's table can hold (default 9, ccp-kernel's 10 slots minus one). */
  maxPrograms?: number;
  /** Parameters handed to classic classes as `this.params`. */
  params?: Readonly<Record<string, string>>;
  /**
   * The agent's clock in microseconds, exposed to algorithms as `datapath.now()`. Default: a
   * monotonic wall clock (`performance.now()`). Simulators pass their simulated clock.
   */
  now?: () => number;
}

/** Counters of a running agent. */
export interface AgentStats {
  /** Known datapaths. */
  datapaths: number;
  /** Live flows over all datapaths. */
  flows: number;
  /** MEASURE reports delivered to flows since start. */
  reports: number;
  /** Messages received (each message of a multi-message buffer counts). */
  messagesIn: number;
  /** Messages sent. */
  messagesOut: number;
  /** Received messages dropped (malformed, unknown datapath/flow/type). */
  dropped: number;
  /** Exceptions thrown by algorithm code, and failed sends. */
  errors: number;
}

/** Description of a program known to the agent. */
export interface ProgramInfo {
  uid: number;
  name: string;
  /** The algorithm that declared it ('' for programs `install`ed at run time). */
  algorithm: string;
}

/** A running agent. */
export interface Agent {
  /** Close every flow (calling its close hook), then the transport. Idempotent. */
  close(): Promise<void>;
  /** Current counters. */
  stats(): AgentStats;
  /** Programs known to the agent, by ascending uid. */
  programs(): ProgramInfo[];
}

/** Start-up failed because some datapath programs do not compile; `errors` lists every one. */
export class ProgramsError extends PortusError {
  readonly errors: ReadonlyArray<{ algorithm: string; program: string; error: CompileError }>;
  constructor(errors: ReadonlyArray<{ algorithm: string; program: string; error: CompileError }>) {
    super(
      ErrorCodes.COMPILE,
      `${errors.length} datapath program(s) do not compile:\n` +
        errors.map((e) => e.error.format(`${e.algorithm}/${e.program}`)).join('\n'),
    );
    this.name = 'ProgramsError';
    this.errors = errors;
  }
}

interface ProgramEntry {
  uid: number;
  name: string;
  algorithm: string;
  program: Program;
  scope: Scope;
  install: Buffer;
  reportClass: ReportClass;
  /** name → resolved update target, filled on first use. */
  targets: Map<string, { regType: number; regIndex: number }>;
}

interface AlgEntry {
  alg: Algorithm;
  programs: Map<string, ProgramEntry>;
}

const MAX_UPDATES = 127;
const TWO32 = 2 ** 32;
const MAX_U64 = 2n ** 64n - 1n;
const CWND_TARGET = { regType: 2, regIndex: 4 };
const RATE_TARGET = { regType: 2, regIndex: 5 };

/**
 * Start an agent on an open transport. Compiles every program of every algorithm first (uids
 * 1..N: algorithms in registration order, programs in declaration order) and throws
 * {@link ProgramsError} listing every compile error, or `PROGRAM_TABLE_FULL` if they exceed
 * `maxPrograms`. Then serves datapaths until `close()`.
 */
export function startAgent(opts: AgentOptions): Agent {
  const transport = opts.transport;
  const debug = opts.debug === true;
  const log = opts.log ?? createLogger(debug ? 'debug' : 'info');
  const maxPrograms = opts.maxPrograms ?? 9;
  const params = opts.params ?? {};
  const clock = opts.now ?? (() => performance.now() * 1000);

  // ---- algorithms and programs -------------------------------------------------------------
  if (opts.algorithms.length === 0) throw new PortusError(ErrorCodes.ALGORITHM, 'no algorithm given');
  const algs: AlgEntry[] = [];
  const byName = new Map<string, AlgEntry>();
  /** Programs indexed by uid (index 0 unused). */
  const programs: (ProgramEntry | undefined)[] = [undefined];
  const dynamicBySource = new Map<string, ProgramEntry>();
  const compileErrors: { algorithm: string; program: string; error: CompileError }[] = [];

  const makeEntry = (uid: number, name: string, algorithm: string, program: Program): ProgramEntry => ({
    uid,
    name,
    algorithm,
    program,
    scope: program.scope,
    install: encodeInstall(uid, program.events, program.instructions),
    reportClass: makeReportClass(program.scope),
    targets: new Map(),
  });

  for (const a of opts.algorithms) {
    const alg: Algorithm = isAlgClass(a) ? classicAlgorithm(a, params) : a;
    if (typeof alg?.newFlow !== 'function' || typeof alg.datapathPrograms !== 'function') {
      throw new PortusError(ErrorCodes.ALGORITHM, `not an algorithm: ${String(alg?.name ?? alg)}`);
    }
    if (byName.has(alg.name)) {
      throw new PortusError(ErrorCodes.ALGORITHM, `two algorithms are named '${alg.name}'`);
    }
    const entry: AlgEntry = { alg, programs: new Map() };
    algs.push(entry);
    byName.set(alg.name, entry);
    for (const [pname, source] of Object.entries(alg.datapathPrograms())) {
      const uid = programs.length;
      try {
        const p = compile(source, { uid });
        const pe = makeEntry(uid, pname, alg.name, p);
        programs.push(pe);
        entry.programs.set(pname, pe);
        for (const w of p.warnings) log.warn(`${alg.name}/${pname}: ${w}`);
      } catch (e) {
        if (e instanceof CompileError) {
          compileErrors.push({ algorithm: alg.name, program: pname, error: e });
          programs.push(undefined); // keep later uids as they would be; start-up fails anyway
        } else throw e;
      }
    }
  }
  if (compileErrors.length > 0) throw new ProgramsError(compileErrors);
  const startupCount = programs.length - 1;
  if (startupCount > maxPrograms) {
    throw new PortusError(
      ErrorCodes.PROGRAM_TABLE_FULL,
      `the algorithms declare ${startupCount} programs but a datapath holds at most ${maxPrograms} ` +
        `(ccp-kernel: 9); drop some programs or raise maxPrograms for datapaths with bigger tables`,
    );
  }
  let defaultAlg = algs[0];
  if (opts.defaultAlgorithm !== undefined) {
    const d = byName.get(opts.defaultAlgorithm);
    if (!d) {
      throw new PortusError(
        ErrorCodes.ALGORITHM,
        `default algorithm '${opts.defaultAlgorithm}' is not registered (have: ${[...byName.keys()].join(', ')})`,
      );
    }
    defaultAlg = d;
  }

  // ---- state ---------------------------------------------------------------------------------
  interface DatapathState {
    address: string;
    flows: Map<number, FlowState>;
    /** Uids installed since the datapath was registered, in send order. */
    installed: Set<number>;
  }
  const datapaths = new Map<string, DatapathState>();
  const stats: AgentStats = {
    datapaths: 0,
    flows: 0,
    reports: 0,
    messagesIn: 0,
    messagesOut: 0,
    dropped: 0,
    errors: 0,
  };
  let closed = false;
  let flowCount = 0;

  // ---- sending -------------------------------------------------------------------------------
  const send = (dp: DatapathState, msg: Buffer): void => {
    if (debug) {
      let text: string;
      try {
        text = formatMessage(decode(msg));
      } catch (e) {
        text = `(undecodable: ${(e as Error).message})`;
      }
      log.debug(`-> ${dp.address} ${text}`);
    }
    try {
      transport.send(msg, dp.address);
      stats.messagesOut++;
    } catch (e) {
      stats.errors++;
      log.error(`send to ${dp.address} failed: ${(e as Error).message}`);
    }
  };

  // UPDATE_FIELDS output: one buffer, one preallocated view per possible length.
  const out = Buffer.alloc(12 + 13 * MAX_UPDATES);
  const views: Buffer[] = [];
  for (let n = 0; n <= MAX_UPDATES; n++) views.push(out.subarray(0, 12 + 13 * n));
  let pendFlow: FlowState | null = null;
  let pendCount = 0;
  let inCallback = false;

  const flush = (): void => {
    const f = pendFlow;
    const n = pendCount;
    pendFlow = null;
    pendCount = 0;
    if (f === null || n === 0) return;
    put16(out, 0, MsgType.UPDATE_FIELDS);
    put16(out, 2, 12 + 13 * n);
    put32(out, 4, f.sid);
    put32(out, 8, n);
    if (f.gone) return; // flow dropped (READY/replace) inside its own callback: nothing to send
    send(f.dp, views[n]);
  };

  const addUpdate = (f: FlowState, regType: number, regIndex: number, value: FieldValue): void => {
    if (pendFlow !== f) {
      flush();
      pendFlow = f;
    }
    const o = 12 + 13 * pendCount;
    out[o] = regType;
    put32(out, o + 1, regIndex);
    if (typeof value === 'bigint') out.writeBigUInt64LE(value, o + 5);
    else {
      put32(out, o + 5, value % TWO32);
      put32(out, o + 9, Math.floor(value / TWO32));
    }
    pendCount++;
    if (pendCount === MAX_UPDATES) flush();
    if (regType === 2) {
      if (regIndex === 4) f.cwnd = Number(value);
      else if (regIndex === 5) f.rate = Number(value);
    }
  };

  /** Validate and normalise an update value (throws UPDATE_FIELD). */
  const checkValue = (name: string, v: FieldValue): FieldValue => {
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
  };

  /** Resolve a field name against a program (cached); Cwnd/Rate resolve without a program. */
  const target = (prog: ProgramEntry | null, name: string): { regType: number; regIndex: number } => {
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
  };

  const pairs = (fields: FieldUpdates): ReadonlyArray<readonly [string, FieldValue]> =>
    Array.isArray(fields)
      ? (fields as ReadonlyArray<readonly [string, FieldValue]>)
      : Object.entries(fields as Record<string, FieldValue>);

  // ---- flows ---------------------------------------------------------------------------------
  class FlowState implements DatapathHandle {
    readonly sid: number;
    readonly dp: DatapathState;
    readonly info: DatapathInfo;
    readonly alg: AlgEntry;
    user: Flow | null = null;
    current: ProgramEntry | null = null;
    currentUid = 0;
    cwnd: number;
    rate = 0;
    gone = false;
    lastReport: ReportImpl | null = null;
    reports = new Map<number, ReportImpl>();

    constructor(dp: DatapathState, info: DatapathInfo, alg: AlgEntry) {
      this.dp = dp;
      this.sid = info.sockId;
      this.info = info;
      this.alg = alg;
      this.cwnd = info.initCwnd;
    }

    get sockId(): number {
      return this.sid;
    }
    now(): number {
      return clock();
    }
    get programUid(): number {
      return this.currentUid;
    }
    get programName(): string {
      return this.current?.name ?? '';
    }

    reportFor(prog: ProgramEntry): ReportImpl {
      let r = this.reports.get(prog.uid);
      if (r === undefined) {
        r = new prog.reportClass(this, prog);
        this.reports.set(prog.uid, r);
      }
      this.lastReport = r;
      return r;
    }

    setProgram(name: string, fields?: FieldUpdates): void {
      const prog = this.alg.programs.get(name);
      if (prog === undefined) {
        throw new PortusError(
          ErrorCodes.UNKNOWN_PROGRAM,
          `algorithm '${this.alg.alg.name}' has no program '${name}' (has: ${[...this.alg.programs.keys()].join(', ') || 'none'})`,
        );
      }
      changeProgram(this, prog, fields);
    }

    install(source: string, fields?: FieldUpdates): void {
      let prog = dynamicBySource.get(source);
      if (prog === undefined) {
        const uid = programs.length;
        const p = compile(source, { uid }); // throws CompileError with line/column
        prog = makeEntry(uid, `installed#${uid}`, '', p);
        programs.push(prog);
        dynamicBySource.set(source, prog);
        for (const w of p.warnings) log.warn(`flow ${this.sid}: ${prog.name}: ${w}`);
      }
      changeProgram(this, prog, fields);
    }

    updateField(name: string, value: FieldValue): void {
      const t = target(this.current, name);
      const v = checkValue(name, value);
      this.checkLive();
      addUpdate(this, t.regType, t.regIndex, v);
      if (!inCallback) flush();
    }

    updateFields(fields: FieldUpdates): void {
      const list = pairs(fields);
      const resolved: { regType: number; regIndex: number; v: FieldValue }[] = [];
      for (const [name, value] of list) {
        const t = target(this.current, name);
        resolved.push({ regType: t.regType, regIndex: t.regIndex, v: checkValue(name, value) });
      }
      this.checkLive();
      for (const r of resolved) addUpdate(this, r.regType, r.regIndex, r.v);
      if (!inCallback) flush();
    }

    checkLive(): void {
      if (this.gone) {
        throw new PortusError(ErrorCodes.UPDATE_FIELD, `flow ${this.sid} is closed; nothing sent`);
      }
    }
  }

  /** Ensure `prog` is installed on the flow's datapath, then send CHANGE_PROG with `fields`. */
  const changeProgram = (f: FlowState, prog: ProgramEntry, fields: FieldUpdates | undefined): void => {
    const updates: UpdateRecord[] = [];
    let cwnd = -1;
    let rate = -1;
    if (fields !== undefined) {
      for (const [name, value] of pairs(fields)) {
        const t = target(prog, name); // resolved against the TARGET program's Scope
        const v = checkValue(name, value);
        updates.push({ regType: t.regType, regIndex: t.regIndex, value: BigInt(v) });
        if (t.regType === 2 && t.regIndex === 4) cwnd = Number(v);
        if (t.regType === 2 && t.regIndex === 5) rate = Number(v);
      }
    }
    if (updates.length > 222) {
      throw new PortusError(
        ErrorCodes.UPDATE_FIELD,
        `CHANGE_PROG carries at most 222 updates, got ${updates.length}`,
      );
    }
    f.checkLive();
    const dp = f.dp;
    flush(); // keep the order of earlier updates relative to the switch
    if (!dp.installed.has(prog.uid)) {
      if (dp.installed.size >= maxPrograms) {
        const msg =
          `cannot install program '${prog.name}' (uid ${prog.uid}) on datapath ${dp.address}: its program ` +
          `table is full (${dp.installed.size} of ${maxPrograms} programs installed)`;
        log.warn(msg);
        throw new PortusError(ErrorCodes.PROGRAM_TABLE_FULL, msg);
      }
      send(dp, prog.install);
      dp.installed.add(prog.uid);
    }
    send(dp, encodeChangeProg(f.sid, prog.uid, updates));
    f.current = prog;
    f.currentUid = prog.uid;
    if (cwnd >= 0) f.cwnd = cwnd;
    if (rate >= 0) f.rate = rate;
  };

  const dropFlow = (f: FlowState): void => {
    f.gone = true;
    f.lastReport = null;
    if (f.dp.flows.delete(f.sid)) flowCount--;
  };

  const callClose = (f: FlowState, why: string): void => {
    dropFlow(f);
    const u = f.user;
    f.user = null;
    if (u === null || typeof u.close !== 'function') return;
    const outer = inCallback;
    inCallback = true;
    try {
      u.close();
    } catch (e) {
      stats.errors++;
      log.error(`flow ${f.sid} (${f.dp.address}): close() threw (${why}): ${errText(e)}`);
    } finally {
      inCallback = outer;
      if (!outer) flush();
    }
  };

  // ---- datapaths -----------------------------------------------------------------------------
  const register = (address: string, why: string): DatapathState => {
    const old = datapaths.get(address);
    if (old) {
      // Forget its flows without close hooks (portus behaviour).
      for (const f of old.flows.values()) dropFlow(f);
      log.info(`datapath ${address} restarted (${why}); forgot its flows`);
    } else {
      log.info(`datapath ${address} registered (${why})`);
    }
    const dp: DatapathState = { address, flows: new Map(), installed: new Set() };
    datapaths.set(address, dp);
    // INSTALL in ascending uid order starting at uid 1 (uid 1 wipes the datapath's table). With no
    // start-up programs, a run-time program that got uid 1 goes first so that it never wipes others.
    const upto = Math.max(startupCount, 1);
    for (let uid = 1; uid <= upto && uid < programs.length; uid++) {
      const p = programs[uid];
      if (p === undefined) continue;
      send(dp, p.install);
      dp.installed.add(uid);
    }
    return dp;
  };

  const onCreate = (address: string, m: CreateMsg): void => {
    let dp = datapaths.get(address);
    if (dp === undefined) dp = register(address, 'CREATE from an unknown datapath');
    const old = dp.flows.get(m.sid);
    if (old !== undefined) {
      log.info(`flow ${m.sid} (${address}) re-created; replacing the old flow`);
      dropFlow(old);
    }
    const alg = byName.get(m.congAlg) ?? defaultAlg;
    const info: DatapathInfo = Object.freeze({
      sockId: m.sid,
      initCwnd: m.initCwnd,
      mss: m.mss,
      srcIp: m.srcIp,
      srcPort: m.srcPort,
      dstIp: m.dstIp,
      dstPort: m.dstPort,
      congAlg: m.congAlg,
    });
    const f = new FlowState(dp, info, alg);
    dp.flows.set(m.sid, f);
    flowCount++;
    const outer = inCallback;
    inCallback = true;
    try {
      f.user = alg.alg.newFlow(f, info);
      log.debug(`flow ${m.sid} (${address}) created with algorithm '${alg.alg.name}'`);
    } catch (e) {
      stats.errors++;
      log.error(`flow ${m.sid} (${address}): creating the flow (${alg.alg.name}) threw: ${errText(e)}`);
    } finally {
      inCallback = outer;
      if (!outer) flush();
    }
  };

  // ---- receiving -----------------------------------------------------------------------------
  let from = '';

  const onMeasure = (buf: Buffer, off: number, len: number): void => {
    const dp = datapaths.get(from);
    if (dp === undefined) {
      stats.dropped++;
      if (debug) log.debug(`ignoring MEASURE from unknown datapath ${from}`);
      return;
    }
    const sid = readSid(buf, off);
    const f = dp.flows.get(sid);
    if (f === undefined) {
      stats.dropped++;
      if (debug) log.debug(`ignoring MEASURE for unknown flow ${sid} (${from})`);
      return;
    }
    if (len < 16) {
      stats.dropped++;
      log.warn(`malformed MEASURE (${len} bytes) from ${from} for flow ${sid}; dropped`);
      return;
    }
    if (measureNumFields(buf, off) === 0) {
      log.debug(`flow ${sid} (${from}) closed by the datapath`);
      callClose(f, 'datapath closed the flow');
      return;
    }
    const uid = measureProgramUid(buf, off);
    const prog = uid < programs.length ? programs[uid] : undefined;
    if (prog === undefined) {
      stats.dropped++;
      log.warn(`flow ${sid} (${from}): report from unknown program uid ${uid}; dropped`);
      return;
    }
    const u = f.user;
    if (u === null) {
      stats.dropped++;
      return;
    }
    let r = f.lastReport;
    if (r === null || r._prog !== prog) r = f.reportFor(prog);
    // A report delivered while the flow's previous one is still being handled (only possible with
    // a transport that delivers synchronously from inside send) gets its own object.
    if (r._buf !== null) r = new prog.reportClass(f, prog);
    r._buf = buf;
    r._off = off;
    r._count = measureFieldCount(buf, off);
    r._stale = f.currentUid !== uid; // decided at delivery: a switch inside onReport does not change it
    stats.reports++;
    const outer = inCallback;
    inCallback = true;
    try {
      u.onReport(r as unknown as Report);
    } catch (e) {
      stats.errors++;
      log.error(`flow ${sid} (${from}): onReport threw: ${errText(e)}`);
    } finally {
      r._buf = null;
      inCallback = outer;
      if (!outer) flush();
    }
  };

  const onOne = (buf: Buffer, off: number, type: number, len: number): void => {
    stats.messagesIn++;
    try {
      if (debug) {
        let text: string;
        try {
          text = formatMessage(decode(buf.subarray(off, off + len)));
        } catch (e) {
          text = `(malformed: ${(e as Error).message})`;
        }
        log.debug(`<- ${from} ${text}`);
      }
      if (type === MsgType.MEASURE) {
        onMeasure(buf, off, len);
        return;
      }
      if (type === MsgType.CREATE || type === MsgType.READY) {
        const m = decode(buf.subarray(off, off + len));
        if (m.type === MsgType.CREATE) onCreate(from, m);
        else if (m.type === MsgType.READY) register(from, `READY id=${m.id}`);
        return;
      }
      stats.dropped++;
      log.warn(`ignoring message of type ${type} (${len} bytes) from ${from}`);
    } catch (e) {
      stats.dropped++;
      if (e instanceof WireError) log.warn(`malformed message from ${from}: ${e.message}; dropped`);
      else log.error(`error handling a message from ${from}: ${errText(e)}`);
    }
  };

  transport.onMessage((buf: Buffer, address: string) => {
    if (closed) return;
    const outerFrom = from; // restored below: a synchronous transport may deliver re-entrantly
    from = address;
    try {
      const err = forEachMessage(buf, onOne);
      if (err !== null) {
        stats.dropped++;
        log.warn(`malformed datagram (${buf.length} bytes) from ${address}: ${err.message}; rest dropped`);
      }
    } catch (e) {
      stats.dropped++;
      log.error(`error handling a datagram from ${address}: ${errText(e)}`);
    } finally {
      from = outerFrom;
    }
  });
  transport.onError?.((e) => {
    stats.errors++;
    log.error(`transport error: ${e.message}`);
  });

  return {
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const dp of datapaths.values()) {
        for (const f of [...dp.flows.values()]) {
          log.debug(`flow ${f.sid} (${dp.address}) closed by the agent shutting down`);
          callClose(f, 'agent shutdown');
        }
      }
      await transport.close();
    },
    stats(): AgentStats {
      stats.datapaths = datapaths.size;
      stats.flows = flowCount;
      return { ...stats };
    },
    programs(): ProgramInfo[] {
      const list: ProgramInfo[] = [];
      for (const p of programs) if (p) list.push({ uid: p.uid, name: p.name, algorithm: p.algorithm });
      return list;
    },
  };
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

function errText(e: unknown): string {
  if (e instanceof CompileError) return e.format();
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}
