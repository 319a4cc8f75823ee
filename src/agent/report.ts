/**
 * Report objects without per-message allocation: one class per program (built once, with one
 * getter per Report variable on its prototype), one instance per (flow, program), re-pointed at
 * each received MEASURE and read lazily through the wire's zero-allocation accessors.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { Scope } from '../lang/index.ts';
import { measureField, measureFieldBig } from '../wire/index.ts';
import type { ReportBase } from './types.ts';

/** What a report needs to know about its program. */
export interface ReportProgram {
  readonly uid: number;
  readonly name: string;
  readonly scope: Scope;
}

/** What a report needs to know about its flow. */
export interface ReportFlow {
  readonly sid: number;
  /** Address of the flow's datapath (the transport's sender address). */
  readonly address: string;
  /** Uid of the program the flow was last switched to by the agent. */
  readonly currentUid: number;
  readonly cwnd: number;
  readonly rate: number;
}

/** Members reserved by {@link ReportBase} (and internals): fields with these short names get no getter. */
const RESERVED = new Set([
  'sockId',
  'from',
  'programUid',
  'Cwnd',
  'Rate',
  'get',
  'getBig',
  'isStale',
  'programName',
  'fieldNames',
  'constructor',
  '__proto__',
]);

/** The mutable report instance the runtime re-points at each MEASURE. */
export class ReportImpl implements ReportBase {
  /** Receive buffer of the current MEASURE, or null outside `onReport`. */
  _buf: Buffer | null = null;
  _off = 0;
  /** Number of fields actually present in the message (from Len). */
  _count = 0;
  /** Whether the flow ran another program when this report was delivered. */
  _stale = false;
  readonly _flow: ReportFlow;
  readonly _prog: ReportProgram;

  constructor(flow: ReportFlow, prog: ReportProgram) {
    this._flow = flow;
    this._prog = prog;
  }

  get sockId(): number {
    return this._flow.sid;
  }
  get from(): string {
    return this._flow.address;
  }
  get programUid(): number {
    return this._prog.uid;
  }
  get Cwnd(): number {
    return this._flow.cwnd;
  }
  get Rate(): number {
    return this._flow.rate;
  }
  isStale(): boolean {
    return this._stale;
  }
  programName(): string {
    return this._prog.name;
  }
  fieldNames(): readonly string[] {
    return this._prog.scope.reportFields;
  }

  /** Index of `name` after all checks; throws REPORT_FIELD otherwise. */
  _index(name: string): number {
    const i = this._prog.scope.reportIndex(name);
    if (i < 0) {
      throw new PortusError(
        ErrorCodes.REPORT_FIELD,
        `'${name}' is not a Report variable of program '${this._prog.name}' (uid ${this._prog.uid}); ` +
          `its Report variables are: ${this._prog.scope.reportFields.join(', ') || '(none)'}`,
      );
    }
    this._check(i);
    return i;
  }

  /** Throws REPORT_FIELD unless field `i` can be read now. */
  _check(i: number): void {
    if (this._buf === null) {
      throw new PortusError(
        ErrorCodes.STALE_REPORT,
        `report of flow ${this._flow.sid} read after onReport returned; copy the values you need`,
      );
    }
    if (this._stale) {
      throw new PortusError(
        ErrorCodes.STALE_REPORT,
        `stale report: flow ${this._flow.sid} sent a report of program '${this._prog.name}' (uid ` +
          `${this._prog.uid}) but had been switched to program uid ${this._flow.currentUid}`,
      );
    }
    if (i >= this._count) {
      throw new PortusError(
        ErrorCodes.REPORT_FIELD,
        `report of flow ${this._flow.sid} has ${this._count} fields; field ${i} ` +
          `(${this._prog.scope.reportFields[i]}) is missing`,
      );
    }
  }

  /** Field `i` as a number. */
  _field(i: number): number {
    this._check(i);
    return measureField(this._buf as Buffer, this._off, i);
  }

  get(name: string): number {
    return measureField(this._buf as Buffer, this._off, this._index(name));
  }

  getBig(name: string): bigint {
    return measureFieldBig(this._buf as Buffer, this._off, this._index(name));
  }
}

/** Names probed by common tooling (await, JSON, inspectors) that must read as absent, not throw. */
const PROBED = new Set(['then', 'toJSON', 'inspect', 'nodeType', 'asymmetricMatch', '$$typeof']);

// Reading a name that is neither a Report variable nor a ReportBase member throws REPORT_FIELD
// instead of silently yielding undefined: a Proxy sits at the end of every report's prototype
// chain, so it is consulted only for names found nowhere else (no cost for real fields).
Object.setPrototypeOf(
  ReportImpl.prototype,
  new Proxy(Object.create(Object.prototype) as object, {
    get(target, key, receiver): unknown {
      if (typeof key === 'symbol' || key in target || PROBED.has(key))
        return Reflect.get(target, key, receiver);
      const r = receiver as ReportImpl;
      const prog = r._prog;
      throw new PortusError(
        ErrorCodes.REPORT_FIELD,
        `'${key}' is not a Report variable of program '${prog.name}' (uid ${prog.uid}); ` +
          `its Report variables are: ${prog.scope.reportFields.join(', ') || '(none)'}`,
      );
    },
  }),
);

/** A constructor of report instances for one program. */
export type ReportClass = new (flow: ReportFlow, prog: ReportProgram) => ReportImpl;

/**
 * Report classes by their Report variables: programs with the same variables (the same program
 * installed by another agent, e.g. the next simulation in a sweep thread) share one class, so
 * their reports share one hidden class and V8 keeps its optimised code for reading them.
 */
const REPORT_CLASSES = new Map<string, ReportClass>();
const MAX_REPORT_CLASSES = 256;

/** Build, once per set of Report variables, a ReportImpl subclass with a getter per variable. */
export function makeReportClass(scope: Scope): ReportClass {
  const key = scope.reportFields.join('\0');
  let c = REPORT_CLASSES.get(key);
  if (c === undefined) {
    c = buildReportClass(scope.reportFields);
    if (REPORT_CLASSES.size >= MAX_REPORT_CLASSES) REPORT_CLASSES.delete(REPORT_CLASSES.keys().next().value!);
    REPORT_CLASSES.set(key, c);
  }
  return c;
}

function buildReportClass(fields: readonly string[]): ReportClass {
  class ProgramReport extends ReportImpl {}
  for (let i = 0; i < fields.length; i++) {
    const full = fields[i];
    const short = full.startsWith('Report.') ? full.slice('Report.'.length) : full;
    const idx = i;
    const desc: PropertyDescriptor = {
      get(this: ReportImpl): number {
        return this._field(idx);
      },
      enumerable: true,
      configurable: false,
    };
    if (!RESERVED.has(short)) Object.defineProperty(ProgramReport.prototype, short, desc);
    Object.defineProperty(ProgramReport.prototype, full, desc);
  }
  return ProgramReport;
}
