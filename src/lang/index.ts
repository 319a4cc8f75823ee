/**
 * The datapath-program compiler: source → AST → registers → instructions, byte-compatible with
 * portus (spec `language.md`; instruction encoding `wire-protocol.md` §6).
 *
 * ```ts
 * const p = compile(source, { uid: 1 });
 * p.instructions; p.events;           // feed to encodeInstall(p.uid, p.events, p.instructions)
 * p.scope.reportIndex('acked');       // MEASURE field index
 * p.scope.resolveUpdate('Cwnd');      // { regType: 2, regIndex: 4 }
 * ```
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { EventRecord, Instruction } from '../wire/index.ts';
import type { ProgramAst } from './ast.ts';
import { generate } from './codegen.ts';
import { parseWithNotes } from './parser.ts';
import type { Scope } from './scope.ts';
import { publicScope, ScopeTable } from './scope.ts';
import { checkSource, located } from './source.ts';

export type {
  BoolLiteral,
  CommandForm,
  Declaration,
  Expr,
  Literal,
  NameRef,
  NumberLiteral,
  Operator,
  OpForm,
  ProgramAst,
  Span,
  WhenClause,
} from './ast.ts';
export type { Scope, ScopeVariable, UpdateTarget } from './scope.ts';
export { BUILTINS, IMPLICITS, PRIMITIVES } from './scope.ts';
export { OPERATOR_TOKENS, U64_MAX } from './parser.ts';
export { Limits, DEF_SENTINEL } from './limits.ts';
export { disassemble, formatInstruction, formatOperand, opName } from './disasm.ts';
export { positionOf } from './source.ts';
export { checkProgram, topLevelForms, type CheckResult } from './check.ts';

/** A compiled datapath program. */
export interface Program {
  /** The program uid its INSTALL message and MEASUREs carry. */
  uid: number;
  /** The source text it was compiled from. */
  source: string;
  /** DEF block, then each event's condition and body instructions. */
  instructions: Instruction[];
  /** One record per `when` clause, in source order. */
  events: EventRecord[];
  /** Names → registers, for reading reports and updating fields. */
  scope: Scope;
  /** Legal but suspicious things (`line:col: text`), e.g. `(report)` without Report variables. */
  warnings: string[];
}

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Program uid, a u32 other than 0 (default 1). */
  uid?: number;
}

/**
 * Parse a program into its syntax tree (declarations in textual order, `when` clauses).
 * Throws `CompileError` on a syntax error or an invalid declaration initialiser; does not check
 * names or types (that is {@link compile}'s job).
 */
export function parse(source: string): ProgramAst {
  return parseWithNotes(checkSource(source)).ast;
}

/**
 * Compile a datapath program. The result's instructions and events are exactly what portus
 * produces for the same text. Throws `CompileError` (with line, column and a caret excerpt via
 * `format()`) for anything portus rejects or crashes on, and for programs libccp would
 * mis-execute (spec §9.4), including a source over 1 MiB; a leading UTF-8 byte-order mark is
 * ignored. Throws `PortusError` (`INVALID_ARG`) if `text` is not a string.
 */
export function compile(text: string, options?: CompileOptions): Program {
  const source = checkSource(text);
  const uid = options?.uid ?? 1;
  if (!Number.isInteger(uid) || uid < 1 || uid > 0xffff_ffff) {
    throw new PortusError(ErrorCodes.USAGE, `program uid must be an integer in 1 … 4294967295, got ${uid}`);
  }
  const { ast, notes } = parseWithNotes(source);
  const warnings: string[] = [];
  for (const n of notes) warnings.push(located(source, n.offset, n.text));
  const table = new ScopeTable(source, ast);
  const { instructions, events } = generate(source, ast, table, warnings);
  return { uid, source, instructions, events, scope: publicScope(uid, table), warnings };
}
