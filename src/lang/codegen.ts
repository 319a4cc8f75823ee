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
import { CONTINUE_REG, FLAG_REG, RegClass, REPORT_REG, VType } from './scope.ts';
import { located, raise } from './source.ts';

/** The compiled instruction list and event table. */
export interface Code {
  instructions: Instruction[];
  events: EventRecord[];
}

function immediate(index: number, vtype: number): Reg {
  return { cls: RegClass.IMMEDIATE, wire: 1, index, vtype, name: '', volatile: false };
}

const IMM_TRUE: Reg = Object.freeze(immediate(1, VType.BOOL));
const IMM_FALSE: Reg = Object.freeze(immediate(0, VType.BOOL));
const IMM_ONE_BOOL = IMM_TRUE;
const NONE_REG: Reg = Object.freeze({
  cls: RegClass.NONE,
  wire: -1,
  index: 0,
  vtype: VType.NONE,
  name: '',
  volatile: false,
});
/** Placeholder result of an if/!if/ewma until its bind retargets it (never left in output). */
const NONE_OPERAND: Operand = Object.freeze({ type: -1, index: 0 });
/** Marks a numeric immediate portus refuses to serialize (2^31 ≤ v < 2^64−1). */
const TOO_BIG = -1;

const ARITH: Partial<Record<OpForm['op'], number>> = {
  '+': Op.ADD,
  '-': Op.SUB,
  '*': Op.MUL,
  '/': Op.DIV,
  max: Op.MAX,
  min: Op.MIN,
  wrapped_max: Op.MAXWRAP,
};
const COMPARE: Partial<Record<OpForm['op'], number>> = { '==': Op.EQUIV, '>': Op.GT, '<': Op.LT };
const LOGIC: Partial<Record<OpForm['op'], number>> = { '&&': Op.MUL, '||': Op.ADD };
const STATEFUL: Partial<Record<OpForm['op'], number>> = { if: Op.IF, '!if': Op.NOTIF, ewma: Op.EWMA };

/** u32 field of a numeric immediate, or TOO_BIG (spec §8.6). */
function immIndex(v: bigint): number {
  if (v <= BigInt(Limits.IMMEDIATE_MAX)) return Number(v);
  if (v === U64_MAX) return 0xffff_ffff;
  return TOO_BIG;
}

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
    if (r.cls === RegClass.LOCAL && r.index >= Limits.LOCALS) {
      raise(
        this.src,
        node?.start ?? 0,
        `too many local variables: \`${r.name}\` would be local ${r.index + 1}, the limit is ${Limits.LOCALS}`,
      );
    }
    if (r.index === TOO_BIG && r.cls === RegClass.IMMEDIATE) {
      raise(
        this.src,
        node?.start ?? 0,
        `number too large for an instruction: immediates must be below 2^31 (2147483648) or +infinity`,
      );
    }
    return { type: r.wire, index: r.index };
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
      result: res.cls === RegClass.NONE ? NONE_OPERAND : this.operand(res, resNode),
      left: this.operand(l, lNode),
      right: this.operand(r, rNode),
    });
  }

  tmp(vtype: number, at: OpForm): Reg {
    const index = this.temps++;
    if (index >= Limits.TEMPS) {
      raise(
        this.src,
        at.start,
        `too many temporaries in one ${this.inCond ? 'condition' : 'statement'}: libccp has ${Limits.TEMPS} temp registers; bind part of the computation to a variable first`,
      );
    }
    return { cls: RegClass.TMP, wire: 7, index, vtype, name: '', volatile: false };
  }

  describe(node: Expr): string {
    if (node.kind === 'name') return `\`${node.name}\``;
    if (node.kind === 'op') return `\`(${node.spelling} ...)\``;
    return `\`${this.src.slice(node.start, node.end)}\``;
  }

  /** Check an operand of an arithmetic/comparison (Num) or `&&`/`||` (Bool) form. */
  expect(want: number, r: Reg, node: Expr, form: OpForm): void {
    if (r.vtype === want) return;
    const wanted = want === VType.NUM ? 'a number' : 'a boolean';
    const what = this.describe(node);
    let got: string;
    if (r.vtype === VType.NONE) {
      raise(
        this.src,
        node.start,
        `\`${form.spelling}\` needs ${wanted}, but ${what} has no value: \`if\`/\`!if\`/\`ewma\` may only be the direct value of \`:=\` to a Report or control variable`,
      );
    } else if (r.vtype === VType.UNBOUND) {
      got = `${what} has no value yet (an unknown name is a new local variable; is it misspelt?)`;
    } else {
      got = `${what} is ${r.vtype === VType.NUM ? 'a number' : 'a boolean'}`;
    }
    raise(this.src, node.start, `\`${form.spelling}\` needs ${wanted}, but ${got}`);
  }

  expr(e: Expr): Reg {
    switch (e.kind) {
      case 'number':
        return immediate(immIndex(e.value), VType.NUM);
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
        this.emit(Op.BIND, reg, null, reg, null, IMM_ONE_BOOL, null);
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
      this.expect(VType.NUM, l, e.left, e);
      this.expect(VType.NUM, r, e.right, e);
      const t = this.tmp(VType.NUM, e);
      this.emit(code, t, null, l, e.left, r, e.right);
      return t;
    }
    code = COMPARE[op];
    if (code !== undefined) {
      this.expect(VType.NUM, l, e.left, e);
      this.expect(VType.NUM, r, e.right, e);
      const t = this.tmp(VType.BOOL, e);
      this.emit(code, t, null, l, e.left, r, e.right);
      return t;
    }
    code = LOGIC[op];
    if (code !== undefined) {
      this.expect(VType.BOOL, l, e.left, e);
      this.expect(VType.BOOL, r, e.right, e);
      const t = this.tmp(VType.BOOL, e);
      this.emit(code, t, null, l, e.left, r, e.right);
      return t;
    }
    code = STATEFUL[op];
    if (code !== undefined) {
      if (l.cls === RegClass.NONE || r.cls === RegClass.NONE) {
        const inner = l.cls === RegClass.NONE ? e.left : e.right;
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
    if (x.cls === RegClass.LOCAL && x.vtype === VType.UNBOUND) x.vtype = v.vtype;
    if (v.cls === RegClass.NONE) {
      if (x.cls === RegClass.REPORT || x.cls === RegClass.CONTROL) {
        this.instrs[this.instrs.length - 1]!.result = { type: x.wire, index: x.index };
        return x;
      }
      const value = e.right.kind === 'op' ? e.right.spelling : 'if';
      let why: string;
      if (x.cls === RegClass.TMP) why = 'a temporary';
      else if (x.cls === RegClass.LOCAL) why = `the local variable \`${x.name}\` (declare it in \`def\`)`;
      else if (x.cls === RegClass.IMPLICIT) why = `\`${x.name}\` (bind it to a variable, then assign that)`;
      else why = this.describe(target);
      raise(
        this.src,
        target.start,
        `\`${value}\` can only be bound to a Report or control variable, not to ${why}`,
      );
    }
    switch (x.cls) {
      case RegClass.REPORT:
      case RegClass.CONTROL:
      case RegClass.LOCAL:
      case RegClass.TMP:
      case RegClass.IMPLICIT:
        this.emit(Op.BIND, x, target, x, target, v, e.right);
        return x;
    }
    if (x.cls === RegClass.PRIMITIVE) {
      raise(this.src, target.start, `cannot assign to \`${x.name}\`: primitives are read-only`);
    }
    if (x.cls === RegClass.IMMEDIATE) {
      raise(this.src, target.start, `cannot assign to the literal ${this.describe(target)}`);
    }
    raise(this.src, target.start, `cannot assign to ${this.describe(target)}: it has no value to hold`);
  }

  condition(cond: Expr): void {
    this.temps = 0;
    this.inCond = true;
    const r = this.expr(cond);
    this.inCond = false;
    if (r.cls === RegClass.TMP && r.vtype === VType.BOOL) {
      this.instrs[this.instrs.length - 1]!.result = { type: FLAG_REG.wire, index: FLAG_REG.index };
      return;
    }
    if (r.cls === RegClass.IMMEDIATE && r.vtype === VType.BOOL) {
      this.emit(Op.BIND, FLAG_REG, null, FLAG_REG, null, r, cond);
      return;
    }
    const what = this.describe(cond);
    if (r.cls === RegClass.NONE) {
      raise(this.src, cond.start, `${what} has no value and cannot be a condition`);
    }
    const hint =
      r.vtype === VType.BOOL
        ? `; for a boolean variable write \`(&& ${cond.kind === 'name' ? cond.name : 'x'} true)\``
        : '';
    if (r.cls === RegClass.REPORT) {
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
    if (this.instrs.length > Limits.INSTRUCTIONS) {
      raise(
        this.src,
        at,
        `program too long: more than ${Limits.INSTRUCTIONS} instructions (libccp cannot run more)`,
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
        value = immediate(immIndex(init.value), VType.NUM);
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
      this.emit(Op.DEF, reg, null, reg, null, value, init);
    }
    const events: EventRecord[] = [];
    for (const clause of ast.clauses) {
      if (events.length >= Limits.EVENTS) {
        raise(this.src, clause.start, `too many \`when\` clauses: at most ${Limits.EVENTS}`);
      }
      const condStart = instrs.length;
      this.condition(clause.cond);
      this.checkLength(clause.cond.start);
      const bodyStart = instrs.length;
      for (const stmt of clause.body) {
        this.temps = 0;
        const r = this.expr(stmt);
        if (r.cls === RegClass.NONE) {
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
