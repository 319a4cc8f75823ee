/**
 * The per-flow handle ({@link DatapathHandle}) an algorithm drives: program switches and
 * installation (INSTALL_EXPR + CHANGE_PROG), field updates, and the flow's reusable Report objects.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import { encodeChangeProg, type UpdateRecord } from '../wire/index.ts';
import type { AgentCore } from './core.ts';
import type { FlowView } from './observe.ts';
import type { AlgEntry, ProgramEntry } from './programs.ts';
import type { ReportImpl } from './report.ts';
import type { DatapathHandle, DatapathInfo, FieldUpdates, FieldValue, Flow } from './types.ts';
import { checkFieldValue, resolveTarget, updatePairs } from './updates.ts';

/** A datapath as the agent knows it: its address, its live flows and its installed programs. */
export interface DatapathState {
  readonly address: string;
  readonly flows: Map<number, FlowState>;
  /** Uids installed since the datapath was registered, in send order. */
  readonly installed: Set<number>;
  /** A message arrived since the last idle sweep. */
  seen: boolean;
  /** When (agent clock, ms) the last sweep found it had sent something. */
  lastSeen: number;
}

/** One live flow: the handle given to the algorithm plus the runtime's bookkeeping. */
export class FlowState implements DatapathHandle, FlowView {
  readonly sid: number;
  readonly dp: DatapathState;
  readonly info: DatapathInfo;
  readonly alg: AlgEntry;
  /** The algorithm's flow object (null before newFlow returns and after close). */
  user: Flow | null = null;
  current: ProgramEntry | null = null;
  currentUid = 0;
  cwnd: number;
  rate = 0;
  gone = false;
  lastReport: ReportImpl | null = null;
  reports = new Map<number, ReportImpl>();
  /** Reports delivered (for observers). */
  reportCount = 0;
  /** The last report's RTT sample in µs, if its program reports one (for observers). */
  lastRttUs = 0;
  /** Agent clock when created. */
  readonly createdAt: number;
  private readonly core: AgentCore;

  constructor(core: AgentCore, dp: DatapathState, info: DatapathInfo, alg: AlgEntry) {
    this.core = core;
    this.dp = dp;
    this.sid = info.sockId;
    this.info = info;
    this.alg = alg;
    this.cwnd = info.initCwnd;
    this.createdAt = core.clock();
  }

  get algorithmName(): string {
    return this.alg.alg.name;
  }

  get sockId(): number {
    return this.sid;
  }
  /** The datapath's address (where this flow's messages go). */
  get address(): string {
    return this.dp.address;
  }
  now(): number {
    return this.core.clock();
  }
  get programUid(): number {
    return this.currentUid;
  }
  get programName(): string {
    return this.current?.name ?? '';
  }

  /** The flow's Report object for `prog` (one per program, reused for every report). */
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
    changeProgram(this.core, this, prog, fields);
  }

  install(source: string, fields?: FieldUpdates): void {
    changeProgram(this.core, this, this.core.programs.installed(source, this.sid), fields);
  }

  updateField(name: string, value: FieldValue): void {
    const t = resolveTarget(this.current, name);
    const v = checkFieldValue(name, t, value);
    this.checkLive();
    const w = this.core.updates;
    w.add(this, t.regType, t.regIndex, v);
    w.done();
  }

  updateFields(fields: FieldUpdates): void {
    const resolved: { regType: number; regIndex: number; v: FieldValue }[] = [];
    for (const [name, value] of updatePairs(fields)) {
      const t = resolveTarget(this.current, name);
      resolved.push({ regType: t.regType, regIndex: t.regIndex, v: checkFieldValue(name, t, value) });
    }
    this.checkLive();
    const w = this.core.updates;
    for (const r of resolved) w.add(this, r.regType, r.regIndex, r.v);
    w.done();
  }

  /** Throws if the flow is closed. */
  checkLive(): void {
    if (this.gone) {
      throw new PortusError(ErrorCodes.UPDATE_FIELD, `flow ${this.sid} is closed; nothing sent`);
    }
  }
}

/** Ensure `prog` is installed on the flow's datapath, then send CHANGE_PROG with `fields`. */
function changeProgram(
  core: AgentCore,
  f: FlowState,
  prog: ProgramEntry,
  fields: FieldUpdates | undefined,
): void {
  const updates: UpdateRecord[] = [];
  let cwnd = -1;
  let rate = -1;
  if (fields !== undefined) {
    for (const [name, value] of updatePairs(fields)) {
      const t = resolveTarget(prog, name); // resolved against the TARGET program's Scope
      const v = checkFieldValue(name, t, value);
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
  core.updates.flush(); // keep the order of earlier updates relative to the switch
  if (!dp.installed.has(prog.uid)) {
    if (dp.installed.size >= core.maxPrograms) {
      const msg =
        `cannot install program '${prog.name}' (uid ${prog.uid}) on datapath ${dp.address}: its program ` +
        `table is full (${dp.installed.size} of ${core.maxPrograms} programs installed)`;
      core.log.warn(msg);
      throw new PortusError(ErrorCodes.PROGRAM_TABLE_FULL, msg);
    }
    core.send(dp.address, prog.install);
    dp.installed.add(prog.uid);
  }
  core.send(dp.address, encodeChangeProg(f.sid, prog.uid, updates));
  f.current = prog;
  f.currentUid = prog.uid;
  if (cwnd >= 0) f.cwnd = cwnd;
  if (rate >= 0) f.rate = rate;
  if (core.observers.active) {
    core.observers.emit({
      kind: 'program',
      time: core.clock(),
      address: dp.address,
      sid: f.sid,
      program: prog.name,
      uid: prog.uid,
    });
  }
}
