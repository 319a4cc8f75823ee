/**
 * The Scope: built-in names, declared variables and locals, and their registers
 * (spec `language.md` §7, §8.1–§8.2, §11).
 *
 * During compilation a {@link ScopeTable} maps names to mutable {@link Reg}s (a local's type is
 * learnt at its first bind). The compiled program exposes the read-only {@link Scope} the agent
 * uses to read reports ({@link Scope.reportIndex}) and to update fields ({@link Scope.resolveUpdate}).
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { Operand } from '../wire/index.ts';
import type { Declaration, ProgramAst } from './ast.ts';
import { Limits } from './limits.ts';
import { raise } from './source.ts';

/** Register classes (the wire register type, except that volatility is kept apart). */
export const RegClass = {
  CONTROL: 0,
  IMMEDIATE: 1,
  IMPLICIT: 2,
  LOCAL: 3,
  PRIMITIVE: 4,
  REPORT: 5,
  TMP: 7,
  /** The "value" of `if`/`!if`/`ewma` before a bind gives it a target; never serialized. */
  NONE: 9,
} as const;

/** Value types (spec §6): Num, Bool, Unbound (a local not yet bound), None (if/!if/ewma). */
export const VType = { NUM: 0, BOOL: 1, UNBOUND: 2, NONE: 3 } as const;

/** A register during compilation. */
export interface Reg {
  cls: number;
  /** Wire register type code (0–8). */
  wire: number;
  /** Register index, or the u32 value of an immediate. */
  index: number;
  /** One of {@link VType}; mutable for locals. */
  vtype: number;
  /** The name it is known by ('' for temps and immediates). */
  name: string;
  volatile: boolean;
  /** The register as an instruction operand (shared by every instruction that uses it, frozen). */
  op: Operand;
}

/** Make a register (its operand is created once and shared by the instructions that use it). */
export function makeReg(
  cls: number,
  wire: number,
  index: number,
  vtype: number,
  name: string,
  volatile: boolean,
): Reg {
  return { cls, wire, index, vtype, name, volatile, op: { type: wire, index } };
}

function builtin(cls: number, wire: number, index: number, vtype: number, name: string): Reg {
  const r = makeReg(cls, wire, index, vtype, name, false);
  Object.freeze(r.op);
  return Object.freeze(r);
}

/** Primitive (read-only, per-ACK) registers, type 4, in index order (spec §7). */
export const PRIMITIVES: readonly string[] = [
  'Ack.bytes_acked',
  'Ack.bytes_misordered',
  'Ack.ecn_bytes',
  'Ack.ecn_packets',
  'Ack.lost_pkts_sample',
  'Ack.now',
  'Ack.packets_acked',
  'Ack.packets_misordered',
  'Flow.bytes_in_flight',
  'Flow.bytes_pending',
  'Flow.packets_in_flight',
  'Flow.rate_incoming',
  'Flow.rate_outgoing',
  'Flow.rtt_sample_us',
  'Flow.was_timeout',
];

/** Implicit registers, type 2, in index order. The `__` names are internal. */
export const IMPLICITS: readonly string[] = [
  '__eventFlag',
  '__shouldContinue',
  '__shouldReport',
  'Micros',
  'Cwnd',
  'Rate',
];

/** Every built-in name and its register. */
export const BUILTINS: ReadonlyMap<string, Reg> = (() => {
  const m = new Map<string, Reg>();
  PRIMITIVES.forEach((n, i) =>
    m.set(n, builtin(RegClass.PRIMITIVE, 4, i, n === 'Flow.was_timeout' ? VType.BOOL : VType.NUM, n)),
  );
  IMPLICITS.forEach((n, i) => m.set(n, builtin(RegClass.IMPLICIT, 2, i, i < 3 ? VType.BOOL : VType.NUM, n)));
  return m;
})();

/** Implicit register 0, the condition flag the compiler writes for every `when`. */
export const FLAG_REG = BUILTINS.get('__eventFlag')!;
/** Implicit register 1, set by `(fallthrough)`. */
export const CONTINUE_REG = BUILTINS.get('__shouldContinue')!;
/** Implicit register 2, set by `(report)`. */
export const REPORT_REG = BUILTINS.get('__shouldReport')!;

/** A declared variable with its register. */
export interface DeclaredVar {
  decl: Declaration;
  reg: Reg;
}

/** The compiler's symbol table for one program. */
export class ScopeTable {
  readonly source: string;
  /** Declared variables and locals by name. */
  readonly vars = new Map<string, Reg>();
  /** Report variables in register-index order. */
  readonly reports: DeclaredVar[] = [];
  /** Control variables in register-index order. */
  readonly controls: DeclaredVar[] = [];
  /** Locals in index order. */
  readonly locals: Reg[] = [];

  constructor(source: string, ast: ProgramAst) {
    this.source = source;
    // §8.1: Report-block entries first (textual order), then the top-level declarations.
    const ordered: Declaration[] = [];
    for (const d of ast.declarations) if (d.inReportBlock) ordered.push(d);
    for (const d of ast.declarations) if (!d.inReportBlock) ordered.push(d);
    for (const d of ordered) {
      if (BUILTINS.has(d.name)) {
        raise(source, d.nameStart, `\`${d.name}\` is a built-in name; a declaration would shadow it`);
      }
      if (this.vars.has(d.name)) raise(source, d.nameStart, `\`${d.name}\` is declared twice`);
      const vtype = d.init.kind === 'bool' ? VType.BOOL : VType.NUM;
      let reg: Reg;
      if (d.isReport) {
        if (this.reports.length >= Limits.REPORT_VARS) {
          raise(
            source,
            d.nameStart,
            `too many Report variables: at most ${Limits.REPORT_VARS} (register index ≤ 15)`,
          );
        }
        reg = makeReg(RegClass.REPORT, d.volatile ? 5 : 6, this.reports.length, vtype, d.name, d.volatile);
        this.reports.push({ decl: d, reg });
      } else {
        if (this.controls.length >= Limits.CONTROL_VARS) {
          raise(
            source,
            d.nameStart,
            `too many control variables: at most ${Limits.CONTROL_VARS} (register index ≤ 15)`,
          );
        }
        reg = makeReg(RegClass.CONTROL, d.volatile ? 8 : 0, this.controls.length, vtype, d.name, d.volatile);
        this.controls.push({ decl: d, reg });
      }
      this.vars.set(d.name, reg);
    }
  }

  /** The register of `name`, allocating a new (Unbound) local at its first mention (§8.2). */
  resolve(name: string): Reg {
    const r = this.vars.get(name) ?? BUILTINS.get(name);
    if (r !== undefined) return r;
    const local = makeReg(RegClass.LOCAL, 3, this.locals.length, VType.UNBOUND, name, false);
    this.locals.push(local);
    this.vars.set(name, local);
    return local;
  }

  /** Declared variables in DEF order: by name, byte-wise ascending (§8.3). */
  defOrder(): DeclaredVar[] {
    const all = this.reports.concat(this.controls);
    all.sort((a, b) => (a.reg.name < b.reg.name ? -1 : a.reg.name > b.reg.name ? 1 : 0));
    return all;
  }
}

/** Where an update of a field goes: the register of an UPDATE_FIELDS/CHANGE_PROG record. */
export interface UpdateTarget {
  regType: number;
  regIndex: number;
}

/** One variable of a compiled program, as the Scope describes it. */
export interface ScopeVariable {
  name: string;
  kind: 'report' | 'control' | 'local';
  /** Wire register type: 5/6 report, 0/8 control, 3 local. */
  regType: number;
  regIndex: number;
  volatile: boolean;
  type: 'num' | 'bool' | 'unbound' | 'none';
}

/** What the agent needs of a compiled program's symbol table (spec §11). */
export interface Scope {
  /** The program uid this Scope belongs to. */
  readonly uid: number;
  /** Report field names (`Report.x`) in register-index order = MEASURE field order (§11.2). */
  readonly reportFields: readonly string[];
  /** Every declared variable (Report, then control) and every local, with its register. */
  readonly variables: readonly ScopeVariable[];
  /** Index of a report field in MEASURE, given `x` or `Report.x`; -1 if it is not one. */
  reportIndex(name: string): number;
  /**
   * The register an UPDATE_FIELDS/CHANGE_PROG record for `name` targets: control variable i →
   * (0, i) or, if volatile, (8, i); `Cwnd` → (2, 4); `Rate` → (2, 5). Throws
   * `PortusError(UPDATE_FIELD)` for a reserved (`__`) name, a Report variable, a local, `Micros`,
   * a primitive, or an unknown name (§11.3).
   */
  resolveUpdate(name: string): UpdateTarget;
}

const TYPE_NAMES = ['num', 'bool', 'unbound', 'none'] as const;
const CWND_UPDATE: UpdateTarget = Object.freeze({ regType: 2, regIndex: 4 });
const RATE_UPDATE: UpdateTarget = Object.freeze({ regType: 2, regIndex: 5 });

/**
 * The public Scope of a compiled program. Lookups go straight to the compiler's symbol table;
 * the field list, variable list and update records are built on first use.
 */
class ProgramScope implements Scope {
  readonly uid: number;
  readonly #table: ScopeTable;
  #reportFields: readonly string[] | undefined;
  #variables: readonly ScopeVariable[] | undefined;
  #updates: Map<string, UpdateTarget> | undefined;

  constructor(uid: number, table: ScopeTable) {
    this.uid = uid;
    this.#table = table;
  }

  get reportFields(): readonly string[] {
    return (this.#reportFields ??= Object.freeze(this.#table.reports.map((v) => v.reg.name)));
  }

  get variables(): readonly ScopeVariable[] {
    if (this.#variables === undefined) {
      const list: ScopeVariable[] = [];
      const describe = (kind: ScopeVariable['kind'], r: Reg): ScopeVariable =>
        Object.freeze({
          name: r.name,
          kind,
          regType: r.wire,
          regIndex: r.index,
          volatile: r.volatile,
          type: TYPE_NAMES[r.vtype]!,
        });
      for (const { reg } of this.#table.reports) list.push(describe('report', reg));
      for (const { reg } of this.#table.controls) list.push(describe('control', reg));
      for (const reg of this.#table.locals) list.push(describe('local', reg));
      this.#variables = Object.freeze(list);
    }
    return this.#variables;
  }

  reportIndex(name: string): number {
    const vars = this.#table.vars;
    const r = vars.get(name);
    if (r !== undefined && r.cls === RegClass.REPORT) return r.index;
    if (r !== undefined && name.startsWith('Report.')) return -1;
    const full = vars.get('Report.' + name);
    return full !== undefined && full.cls === RegClass.REPORT ? full.index : -1;
  }

  resolveUpdate(name: string): UpdateTarget {
    const r = this.#table.vars.get(name);
    if (r !== undefined && r.cls === RegClass.CONTROL) {
      const updates = (this.#updates ??= new Map());
      let t = updates.get(name);
      if (t === undefined) updates.set(name, (t = Object.freeze({ regType: r.wire, regIndex: r.index })));
      return t;
    }
    if (name === 'Cwnd') return CWND_UPDATE;
    if (name === 'Rate') return RATE_UPDATE;
    if (name.startsWith('__')) {
      throw new PortusError(ErrorCodes.UPDATE_FIELD, `reserved field \`${name}\``);
    }
    let why: string | undefined;
    if (r !== undefined) {
      why = r.cls === RegClass.REPORT ? 'it is a Report variable' : 'it is a local variable of the program';
    } else if (name === 'Micros') why = '`Micros` is the program timer';
    else if (BUILTINS.has(name)) why = 'it is a read-only primitive';
    if (why !== undefined) {
      throw new PortusError(ErrorCodes.UPDATE_FIELD, `cannot update field \`${name}\`: ${why}`);
    }
    throw new PortusError(ErrorCodes.UPDATE_FIELD, `unknown field \`${name}\` (program uid ${this.uid})`);
  }
}

/** Build the public Scope of a compiled program. */
export function publicScope(uid: number, table: ScopeTable): Scope {
  return new ProgramScope(uid, table);
}
