/**
 * Code generation (spec `language.md` §8.3–§8.6): the DEF block, then per `when` clause its
 * condition and body, compiled post-order (left operand fully before right), with temps numbered
 * from 0 per condition/statement and locals numbered program-wide at first mention.
 *
 * Every check portus' serializer makes (register index limits, immediates) and every case portus
 * crashes on (§9.3) is a compile error here, raised at the offending token.
 * @module
 */
import type { EventRecord, Instruction, Operand } from '../wire/index.ts';
import { Op } from '../wire/index.ts';
import type { Expr, OpForm, ProgramAst } from './ast.ts';
import { DEF_SENTINEL, Limits } from './limits.ts';
import { U64_MAX } from './parser.ts';
import type { Reg, ScopeTable } from './scope.ts';
import {
  CONTINUE_REG as CONTINUE,
  FLAG_REG as FLAG,
  makeReg,
  RegClass,
  REPORT_REG as REPORT,
  VType,
} from './scope.ts';
import { located, raise } from './source.ts';

/** The compiled instruction list and event table. */
export interface Code {
  instructions: Instruction[];
  events: EventRecord[];
}

// Imported constants copied into module-local bindings: under tsx every access to another
// module's export goes through a getter, which would dominate the hot loop.
const CONTINUE_REG = CONTINUE;
const FLAG_REG = FLAG;
const REPORT_REG = REPORT;
const C_CONTROL = RegClass.CONTROL;
const C_IMMEDIATE = RegClass.IMMEDIATE;
const C_IMPLICIT = RegClass.IMPLICIT;
const C_LOCAL = RegClass.LOCAL;
const C_NONE = RegClass.NONE;
const C_PRIMITIVE = RegClass.PRIMITIVE;
const C_REPORT = RegClass.REPORT;
const C_TMP = RegClass.TMP;
const V_BOOL = VType.BOOL;
const V_NONE = VType.NONE;
const V_NUM = VType.NUM;
const V_UNBOUND = VType.UNBOUND;
const L_EVENTS = Limits.EVENTS;
const L_IMMEDIATE_MAX = Limits.IMMEDIATE_MAX;
const L_INSTRUCTIONS = Limits.INSTRUCTIONS;
const L_LOCALS = Limits.LOCALS;
const L_TEMPS = Limits.TEMPS;
const OP_ADD = Op.ADD;
const OP_BIND = Op.BIND;
const OP_DEF = Op.DEF;
const OP_DIV = Op.DIV;
const OP_EQUIV = Op.EQUIV;
const OP_EWMA = Op.EWMA;
const OP_GT = Op.GT;
const OP_IF = Op.IF;
const OP_LT = Op.LT;
const OP_MAX = Op.MAX;
const OP_MAXWRAP = Op.MAXWRAP;
const OP_MIN = Op.MIN;
const OP_MUL = Op.MUL;
const OP_NOTIF = Op.NOTIF;
const OP_SUB = Op.SUB;

// Registers and operands that are the same in every program are made once (and frozen).
function constReg(cls: number, wire: number, index: number, vtype: number): Reg {
  const r = makeReg(cls, wire, index, vtype, '', false);
  Object.freeze(r.op);
  return Object.freeze(r);
}
const IMM_TRUE: Reg = constReg(C_IMMEDIATE, 1, 1, V_BOOL);
const IMM_FALSE: Reg = constReg(C_IMMEDIATE, 1, 0, V_BOOL);
const NONE_REG: Reg = constReg(C_NONE, -1, 0, V_NONE);
/** Placeholder result of an if/!if/ewma until its bind retargets it (never left in output). */
const NONE_OPERAND: Operand = NONE_REG.op;
/** Marks a numeric immediate portus refuses to serialize (2^31 ≤ v < 2^64−1). */
const TOO_BIG = -1;
const SMALL_IMMEDIATES: Reg[] = [];
for (let v = 0; v < 1024; v++) SMALL_IMMEDIATES.push(constReg(C_IMMEDIATE, 1, v, V_NUM));
const TEMPS_NUM: Reg[] = [];
const TEMPS_BOOL: Reg[] = [];
for (let i = 0; i < L_TEMPS; i++) {
  TEMPS_NUM.push(constReg(C_TMP, 7, i, V_NUM));
  TEMPS_BOOL.push(constReg(C_TMP, 7, i, V_BOOL));
}
const FLAG_OPERAND = FLAG_REG.op;
const MAX_SMALL = 1023n;
const IMM_LIMIT = BigInt(L_IMMEDIATE_MAX);

/** The immediate register of a number (spec §8.6: u32 field, or TOO_BIG). */
function numberImmediate(v: bigint): Reg {
  if (v <= MAX_SMALL) return SMALL_IMMEDIATES[Number(v)]!;
  const index = v <= IMM_LIMIT ? Number(v) : v === U64_MAX ? 0xffff_ffff : TOO_BIG;
  return makeReg(C_IMMEDIATE, 1, index, V_NUM, '', false);
}

const ARITH: Partial<Record<OpForm['op'], number>> = {
  '+': OP_ADD,
  '-': OP_SUB,
  '*': OP_MUL,
  '/': OP_DIV,
  max: OP_MAX,
  min: OP_MIN,
  wrapped_max: OP_MAXWRAP,
};
const COMPARE: Partial<Record<OpForm['op'], number>> = { '==': OP_EQUIV, '>': OP_GT, '<': OP_LT };
const LOGIC: Partial<Record<OpForm['op'], number>> = { '&&': OP_MUL, '||': OP_ADD };
const STATEFUL: Partial<Record<OpForm['op'], number>> = { if: OP_IF, '!if': OP_NOTIF, ewma: OP_EWMA };

class Codegen {
  readonly src: string;
  readonly table: ScopeTable;
  readonly warnings: string[];
  readonly instrs: Instruction[] = [];
  temps = 0;
  inCond = false;
  warnedReport = false;

  constructor(src: string, table: ScopeTable, warnings: string[]) {
    this.src = src;
    this.table = table;
    this.warnings = warnings;
  }

  /** Serialize one register as an operand, with portus' serializer checks. */
  operand(r: Reg, node: Expr | null): Operand {
    if (r.cls === C_LOCAL && r.index >= L_LOCALS) {
      raise(
        this.src,
        node?.start ?? 0,
        `too many local variables: \`${r.name}\` would be local ${r.index + 1}, the limit is ${L_LOCALS}`,
      );
    }
    if (r.index === TOO_BIG && r.cls === C_IMMEDIATE) {
      raise(
        this.src,
        node?.start ?? 0,
        `number too large for an instruction: immediates must be below 2^31 (2147483648) or +infinity`,
      );
    }
    return r.op;
  }

  emit(
    op: number,
    res: Reg,
    resNode: Expr | null,
    l: Reg,
    lNode: Expr | null,
    r: Reg,
    rNode: Expr | null,
  ): void {
    this.instrs.push({
      op,
      result: res.cls === C_NONE ? NONE_OPERAND : this.operand(res, resNode),
      left: this.operand(l, lNode),
      right: this.operand(r, rNode),
    });
  }

  tmp(vtype: number, at: OpForm): Reg {
    const index = this.temps++;
    if (index >= L_TEMPS) {
      raise(
        this.src,
        at.start,
        `too many temporaries in one ${this.inCond ? 'condition' : 'statement'}: libccp has ${L_TEMPS} temp registers; bind part of the computation to a variable first`,
      );
    }
    return vtype === V_BOOL ? TEMPS_BOOL[index]! : TEMPS_NUM[index]!;
  }

  describe(node: Expr): string {
    if (node.kind === 'name') return `\`${node.name}\``;
    if (node.kind === 'op') return `\`(${node.spelling} ...)\``;
    return `\`${this.src.slice(node.start, node.end)}\``;
  }

  /** Check an operand of an arithmetic/comparison (Num) or `&&`/`||` (Bool) form. */
  expect(want: number, r: Reg, node: Expr, form: OpForm): void {
    if (r.vtype === want) return;
    const wanted = want === V_NUM ? 'a number' : 'a boolean';
    const what = this.describe(node);
    let got: string;
    if (r.vtype === V_NONE) {
      raise(
        this.src,
        node.start,
        `\`${form.spelling}\` needs ${wanted}, but ${what} has no value: \`if\`/\`!if\`/\`ewma\` may only be the direct value of \`:=\` to a Report or control variable`,
      );
    } else if (r.vtype === V_UNBOUND) {
      got = `${what} has no value yet (an unknown name is a new local variable; is it misspelt?)`;
    } else {
      got = `${what} is ${r.vtype === V_NUM ? 'a number' : 'a boolean'}`;
    }
    raise(this.src, node.start, `\`${form.spelling}\` needs ${wanted}, but ${got}`);
  }

  expr(e: Expr): Reg {
    switch (e.kind) {
      case 'number':
        return numberImmediate(e.value);
      case 'bool':
        return e.value ? IMM_TRUE : IMM_FALSE;
      case 'name':
        return this.table.resolve(e.name);
      case 'command': {
        if (this.inCond) {
          raise(this.src, e.start, `\`(${e.command})\` is a statement and cannot be a condition`);
        }
        const reg = e.command === 'report' ? REPORT_REG : CONTINUE_REG;
        if (e.command === 'report' && !this.warnedReport && this.table.reports.length === 0) {
          this.warnedReport = true;
          this.warnings.push(
            located(
              this.src,
              e.start,
              '`(report)` in a program without Report variables: its reports carry no fields, which the agent reads as a flow close',
            ),
          );
        }
        this.emit(OP_BIND, reg, null, reg, null, IMM_TRUE, null);
        return reg;
      }
      case 'op':
        return this.form(e);
    }
  }

  form(e: OpForm): Reg {
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    const op = e.op;
    let code = ARITH[op];
    if (code !== undefined) {
      this.expect(V_NUM, l, e.left, e);
      this.expect(V_NUM, r, e.right, e);
      const t = this.tmp(V_NUM, e);
      this.emit(code, t, null, l, e.left, r, e.right);
      return t;
    }
    code = COMPARE[op];
    if (code !== undefined) {
      this.expect(V_NUM, l, e.left, e);
      this.expect(V_NUM, r, e.right, e);
      const t = this.tmp(V_BOOL, e);
      this.emit(code, t, null, l, e.left, r, e.right);
      return t;
    }
    code = LOGIC[op];
    if (code !== undefined) {
      this.expect(V_BOOL, l, e.left, e);
      this.expect(V_BOOL, r, e.right, e);
      const t = this.tmp(V_BOOL, e);
      this.emit(code, t, null, l, e.left, r, e.right);
      return t;
    }
    code = STATEFUL[op];
    if (code !== undefined) {
      if (l.cls === C_NONE || r.cls === C_NONE) {
        const inner = l.cls === C_NONE ? e.left : e.right;
        raise(
          this.src,
          inner.start,
          `${this.describe(inner)} cannot be an operand of \`${e.spelling}\`: \`if\`/\`!if\`/\`ewma\` may only be the direct value of \`:=\` to a Report or control variable`,
        );
      }
      this.emit(code, NONE_REG, null, l, e.left, r, e.right);
      return NONE_REG;
    }
    return this.bind(e, l, r);
  }

  bind(e: OpForm, x: Reg, v: Reg): Reg {
    const target = e.left;
    if (x.cls === C_LOCAL && x.vtype === V_UNBOUND) x.vtype = v.vtype;
    if (v.cls === C_NONE) {
      if (x.cls === C_REPORT || x.cls === C_CONTROL) {
        this.instrs[this.instrs.length - 1]!.result = x.op;
        return x;
      }
      const value = e.right.kind === 'op' ? e.right.spelling : 'if';
      let why: string;
      if (x.cls === C_TMP) why = 'a temporary';
      else if (x.cls === C_LOCAL) why = `the local variable \`${x.name}\` (declare it in \`def\`)`;
      else if (x.cls === C_IMPLICIT) why = `\`${x.name}\` (bind it to a variable, then assign that)`;
      else why = this.describe(target);
      raise(
        this.src,
        target.start,
        `\`${value}\` can only be bound to a Report or control variable, not to ${why}`,
      );
    }
    switch (x.cls) {
      case C_REPORT:
      case C_CONTROL:
      case C_LOCAL:
      case C_TMP:
      case C_IMPLICIT:
        this.emit(OP_BIND, x, target, x, target, v, e.right);
        return x;
    }
    if (x.cls === C_PRIMITIVE) {
      raise(this.src, target.start, `cannot assign to \`${x.name}\`: primitives are read-only`);
    }
    if (x.cls === C_IMMEDIATE) {
      raise(this.src, target.start, `cannot assign to the literal ${this.describe(target)}`);
    }
    raise(this.src, target.start, `cannot assign to ${this.describe(target)}: it has no value to hold`);
  }

  condition(cond: Expr): void {
    this.temps = 0;
    this.inCond = true;
    const r = this.expr(cond);
    this.inCond = false;
    if (r.cls === C_TMP && r.vtype === V_BOOL) {
      this.instrs[this.instrs.length - 1]!.result = FLAG_OPERAND;
      return;
    }
    if (r.cls === C_IMMEDIATE && r.vtype === V_BOOL) {
      this.emit(OP_BIND, FLAG_REG, null, FLAG_REG, null, r, cond);
      return;
    }
    const what = this.describe(cond);
    if (r.cls === C_NONE) {
      raise(this.src, cond.start, `${what} has no value and cannot be a condition`);
    }
    const hint =
      r.vtype === V_BOOL
        ? `; for a boolean variable write \`(&& ${cond.kind === 'name' ? cond.name : 'x'} true)\``
        : '';
    if (r.cls === C_REPORT) {
      raise(
        this.src,
        cond.start,
        `a Report variable (${what}) cannot be used directly as a condition${hint || '; compare it, e.g. `(> x 0)`'}`,
      );
    }
    raise(
      this.src,
      cond.start,
      `a condition must be a comparison (\`==\`, \`>\`, \`<\`), a boolean form (\`&&\`, \`||\`) or \`true\`/\`false\`; ${what} is not${hint}`,
    );
  }

  checkLength(at: number): void {
    if (this.instrs.length > L_INSTRUCTIONS) {
      raise(
        this.src,
        at,
        `program too long: more than ${L_INSTRUCTIONS} instructions (libccp cannot run more)`,
      );
    }
  }

  program(ast: ProgramAst): Code {
    const instrs = this.instrs;
    for (const { decl, reg } of this.table.defOrder()) {
      const init = decl.init;
      let value: Reg;
      if (init.kind === 'bool') value = init.value ? IMM_TRUE : IMM_FALSE;
      else {
        value = numberImmediate(init.value);
        if (value.index === DEF_SENTINEL) {
          this.warnings.push(
            located(
              this.src,
              init.start,
              `initial value 1073741823 (0x3FFFFFFF) of \`${decl.name}\`: libccp stores 4294967295 instead when it resets the variable`,
            ),
          );
        }
      }
      this.emit(OP_DEF, reg, null, reg, null, value, init);
    }
    const events: EventRecord[] = [];
    for (const clause of ast.clauses) {
      if (events.length >= L_EVENTS) {
        raise(this.src, clause.start, `too many \`when\` clauses: at most ${L_EVENTS}`);
      }
      const condStart = instrs.length;
      this.condition(clause.cond);
      this.checkLength(clause.cond.start);
      const bodyStart = instrs.length;
      for (const stmt of clause.body) {
        this.temps = 0;
        const r = this.expr(stmt);
        if (r.cls === C_NONE) {
          raise(
            this.src,
            stmt.start,
            `the value of ${this.describe(stmt)} must be bound: write \`(:= var (${stmt.kind === 'op' ? stmt.spelling : 'if'} ...))\` with a Report or control variable`,
          );
        }
        this.checkLength(stmt.start);
      }
      events.push({
        condStart,
        condCount: bodyStart - condStart,
        bodyStart,
        bodyCount: instrs.length - bodyStart,
      });
    }
    return { instructions: instrs, events };
  }
}

/** Generate the instructions and events of a parsed program whose Scope is `table`. */
export function generate(source: string, ast: ProgramAst, table: ScopeTable, warnings: string[]): Code {
  return new Codegen(source, table, warnings).program(ast);
}
