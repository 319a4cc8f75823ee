/**
 * The abstract syntax of datapath programs (spec `language.md` §1–§5).
 *
 * Every node carries `start`/`end`: 0-based character offsets into the source (end exclusive).
 * Comments are not represented (they are whitespace to this compiler, see docs/language.md).
 * @module
 */

/** A character range of the source text. */
export interface Span {
  /** Offset of the node's first character. */
  start: number;
  /** Offset just past the node's last character. */
  end: number;
}

/** The canonical spelling of every operator; aliases (`add`, `bind`, `eq`, ...) map onto these. */
export type Operator =
  | '+'
  | '-'
  | '*'
  | '/'
  | 'max'
  | 'min'
  | 'wrapped_max'
  | '=='
  | '>'
  | '<'
  | '&&'
  | '||'
  | ':='
  | 'if'
  | '!if'
  | 'ewma';

/** A decimal number, or `+infinity` (2^64−1). */
export interface NumberLiteral extends Span {
  kind: 'number';
  /** The value, 0 … 2^64−1. */
  value: bigint;
  /** True when written `+infinity`. */
  infinity: boolean;
}

/** `true` or `false`. */
export interface BoolLiteral extends Span {
  kind: 'bool';
  value: boolean;
}

/** A name: a built-in (`Cwnd`, `Ack.bytes_acked`), a declared variable, or a local. */
export interface NameRef extends Span {
  kind: 'name';
  name: string;
}

/** `(op left right)`: every operator form has exactly two operands. */
export interface OpForm extends Span {
  kind: 'op';
  /** Canonical operator. */
  op: Operator;
  /** The operator as written (`add`, `+`, `bind`, ...). */
  spelling: string;
  /** Offset of the operator token. */
  opStart: number;
  left: Expr;
  right: Expr;
}

/** `(report)` or `(fallthrough)`. */
export interface CommandForm extends Span {
  kind: 'command';
  command: 'report' | 'fallthrough';
}

/** A literal: what a declaration may be initialised with. */
export type Literal = NumberLiteral | BoolLiteral;

/** Any expression (a `when` condition or body statement, or an operand). */
export type Expr = Literal | NameRef | OpForm | CommandForm;

/** One variable declaration of the `def` clause. */
export interface Declaration extends Span {
  /** Full name: entries of the `Report` block get the `Report.` prefix. */
  name: string;
  /** Offset of the name as written. */
  nameStart: number;
  /** Declared `volatile` (reset to `init` after every report). */
  volatile: boolean;
  /** A Report variable (in the `Report` block, or a top-level name starting with `Report.`). */
  isReport: boolean;
  /** Written inside the `(Report ...)` block. */
  inReportBlock: boolean;
  /** The initial value. */
  init: Literal;
}

/** `(when cond body...)`. */
export interface WhenClause extends Span {
  cond: Expr;
  /** One or more statements. */
  body: Expr[];
}

/** A parsed program: the declarations of `def` in textual order, then the `when` clauses. */
export interface ProgramAst {
  declarations: Declaration[];
  clauses: WhenClause[];
}
