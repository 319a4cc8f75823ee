/**
 * Parser for datapath programs (spec `language.md` §2–§3).
 *
 * portus' parser is scannerless: each token is the first of an ordered list of alternatives that
 * matches a *prefix* of the remaining text. This parser makes the same choices deterministically
 * (one character of lookahead decides every alternative, because the alternatives portus tries
 * never overlap), so it accepts exactly portus' language, with its quirks (§2.7):
 *
 * - no separator is needed after an operator or a literal: `(+1 2)`, `(:=a(+ 1 2))`;
 * - `true`/`false`/`+infinity` are prefixes: `trueish` reads as `true` then `ish`;
 * - `volatile` is a prefix in a declaration: `(volatileCount 0)` declares volatile `Count`;
 * - `when` is a prefix: `(whentrue ...)` is `(when true ...)`;
 * - a digit string above 2^64−1 is not a number but a name (portus re-reads it as one);
 * - `(def` must be written without a space, and `(def )` is rejected.
 *
 * Extensions (documented in docs/language.md; they never change the output of a program portus
 * accepts): a `#` comment may appear wherever whitespace may, and may end at the end of the text.
 * @module
 */
import type {
  BoolLiteral,
  CommandForm,
  Declaration,
  Expr,
  Literal,
  NameRef,
  NumberLiteral,
  Operator,
  ProgramAst,
  WhenClause,
} from './ast.ts';
import { raise, tokenAt } from './source.ts';

/** 2^64 − 1, the largest number (and the value of `+infinity`). */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * Operator tokens in the exact order portus tries them (spec §2.6), with their canonical form.
 * First match wins; no token is a prefix of another with the same first character, so the order
 * only documents portus.
 */
export const OPERATOR_TOKENS: readonly (readonly [string, Operator])[] = [
  ['+', '+'],
  ['add', '+'],
  ['&&', '&&'],
  ['and', '&&'],
  [':=', ':='],
  ['bind', ':='],
  ['if', 'if'],
  ['/', '/'],
  ['div', '/'],
  ['==', '=='],
  ['eq', '=='],
  ['ewma', 'ewma'],
  ['>', '>'],
  ['gt', '>'],
  ['<', '<'],
  ['lt', '<'],
  ['wrapped_max', 'wrapped_max'],
  ['max', 'max'],
  ['min', 'min'],
  ['*', '*'],
  ['mul', '*'],
  ['||', '||'],
  ['or', '||'],
  ['!if', '!if'],
  ['-', '-'],
  ['sub', '-'],
];

// Operator candidates indexed by first character code, in portus' order.
const OPS_BY_CHAR: (readonly [string, Operator])[][] = [];
for (const entry of OPERATOR_TOKENS) (OPS_BY_CHAR[entry[0].charCodeAt(0)] ??= []).push(entry);

const LPAREN = 40;
const RPAREN = 41;
const HASH = 35;
const LF = 10;
const UNDERSCORE = 95;

// Character classes: 1 = whitespace, 2 = name character (ASCII letter, digit, '.', '_').
const CLASS = new Uint8Array(128);
CLASS[32] = 1;
CLASS[9] = 1;
CLASS[10] = 1;
CLASS[13] = 1;
for (let c = 48; c <= 57; c++) CLASS[c] = 2;
for (let c = 65; c <= 90; c++) CLASS[c] = 2;
for (let c = 97; c <= 122; c++) CLASS[c] = 2;
CLASS[46] = 2;
CLASS[95] = 2;

const SMALL_BIGINTS: bigint[] = [];
for (let v = 0; v < 1024; v++) SMALL_BIGINTS.push(BigInt(v));

function isNameChar(c: number): boolean {
  return c < 128 && CLASS[c] === 2;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Something the parser noticed that is legal but probably not meant (see compile warnings). */
export interface ParseNote {
  offset: number;
  text: string;
}

/**
 * Deepest nesting of forms accepted. Each nested form emits at least one instruction for every
 * two levels, so anything deeper exceeds the 255-instruction limit anyway; the bound keeps the
 * recursive parser and code generator far from the JavaScript stack limit.
 */
export const MAX_NESTING = 512;

class Parser {
  readonly src: string;
  readonly len: number;
  pos = 0;
  depth = 0;
  readonly notes: ParseNote[] = [];

  constructor(src: string) {
    this.src = src;
    this.len = src.length;
  }

  fail(offset: number, reason: string): never {
    raise(this.src, offset, reason);
  }

  /** Skip whitespace (space, tab, CR, LF) and `#` comments. */
  ws(): void {
    const src = this.src;
    let p = this.pos;
    while (p < this.len) {
      const c = src.charCodeAt(p);
      if (c < 128 && CLASS[c] === 1) p++;
      else if (c === HASH) {
        p++;
        while (p < this.len && src.charCodeAt(p) !== LF) p++;
      } else break;
    }
    this.pos = p;
  }

  peek(): number {
    return this.pos < this.len ? this.src.charCodeAt(this.pos) : -1;
  }

  /** Read a name token (ASCII letters, digits, `.`, `_`) at the current position. */
  name(): string {
    const src = this.src;
    const start = this.pos;
    let p = start;
    while (p < this.len && isNameChar(src.charCodeAt(p))) p++;
    if (p === start) this.fail(start, `expected a name, found ${tokenAt(src, start)}`);
    if (src.charCodeAt(start) === UNDERSCORE && src.charCodeAt(start + 1) === UNDERSCORE) {
      this.fail(start, `names starting with \`__\` are reserved: ${tokenAt(src, start)}`);
    }
    this.pos = p;
    return src.slice(start, p);
  }

  /**
   * An atom: `true`, `false`, `+infinity`, a number, or a name (tried in that order, each a
   * prefix match). Returns null (position unchanged) when no atom starts here.
   */
  atom(): Literal | NameRef | null {
    const src = this.src;
    const start = this.pos;
    if (start >= this.len) return null;
    const c = src.charCodeAt(start);
    if (c === 116 /* t */ && src.startsWith('true', start)) {
      this.pos = start + 4;
      return { kind: 'bool', value: true, start, end: start + 4 } satisfies BoolLiteral;
    }
    if (c === 102 /* f */ && src.startsWith('false', start)) {
      this.pos = start + 5;
      return { kind: 'bool', value: false, start, end: start + 5 } satisfies BoolLiteral;
    }
    if (c === 43 /* + */) {
      if (!src.startsWith('+infinity', start)) return null;
      this.pos = start + 9;
      return { kind: 'number', value: U64_MAX, infinity: true, start, end: start + 9 };
    }
    if (isDigit(c)) {
      let p = start;
      let v = 0;
      while (p < this.len && isDigit(src.charCodeAt(p))) {
        v = v * 10 + (src.charCodeAt(p) - 48);
        p++;
      }
      let value: bigint;
      if (p - start <= 15) value = v < SMALL_BIGINTS.length ? SMALL_BIGINTS[v]! : BigInt(v);
      else value = BigInt(src.slice(start, p));
      if (value <= U64_MAX) {
        this.pos = p;
        return { kind: 'number', value, infinity: false, start, end: p } satisfies NumberLiteral;
      }
      // portus: a digit string above 2^64−1 is not a number, so it is re-read as a name.
      const n = this.name();
      this.notes.push({
        offset: start,
        text: `\`${n.length > 30 ? n.slice(0, 30) + '…' : n}\` is above 2^64−1, so (like portus) it is read as a variable name, not a number`,
      });
      return { kind: 'name', name: n, start, end: this.pos };
    }
    if (isNameChar(c)) {
      const n = this.name();
      return { kind: 'name', name: n, start, end: this.pos };
    }
    return null;
  }

  /** `program = defs events`, the whole text consumed. */
  program(): ProgramAst {
    const src = this.src;
    const declarations: Declaration[] = [];
    this.ws();
    const defOpen = this.pos;
    if (this.peek() !== LPAREN) {
      this.fail(this.pos, `a program starts with \`(def\`, found ${tokenAt(src, this.pos)}`);
    }
    this.pos++;
    if (!src.startsWith('def', this.pos)) {
      this.ws();
      if (src.startsWith('def', this.pos)) {
        this.fail(this.pos, 'write `(def` without whitespace between `(` and `def` (portus rejects `( def`)');
      }
      this.fail(this.pos, `a program starts with \`(def\`, found ${tokenAt(src, this.pos)}`);
    }
    this.pos += 3;
    let any = false;
    let sawReport = false;
    for (;;) {
      const before = this.pos;
      this.ws();
      if (this.peek() !== LPAREN) {
        if (!any) this.pos = before;
        break;
      }
      any = true;
      if (this.declOrReport(declarations, sawReport)) sawReport = true;
    }
    if (this.peek() !== RPAREN) {
      const here = this.pos;
      this.ws();
      if (!any && this.peek() === RPAREN) {
        this.fail(here, '`(def )` is rejected by portus: write `(def)` when there are no declarations');
      }
      if (this.pos >= this.len) this.fail(defOpen, 'unclosed `(def`: missing `)`');
      this.fail(
        this.pos,
        `expected a declaration \`(name value)\` or \`)\` closing \`(def\`, found ${tokenAt(src, this.pos)}`,
      );
    }
    this.pos++;

    const clauses: WhenClause[] = [];
    for (;;) {
      this.ws();
      if (this.pos >= this.len) break;
      clauses.push(this.when());
    }
    if (clauses.length === 0)
      this.fail(this.pos, 'a program needs at least one `(when ...)` clause after `(def ...)`');
    return { declarations, clauses };
  }

  /**
   * `decl = "(" ws ["volatile" ws] name ws atom ws ")"`, or the `(Report decl+)` block.
   * Returns true if it was the Report block.
   */
  declOrReport(out: Declaration[], sawReport: boolean): boolean {
    const src = this.src;
    const open = this.pos;
    this.pos++;
    this.ws();
    if (src.startsWith('Report', this.pos) && !isNameChar(src.charCodeAt(this.pos + 6))) {
      const save = this.pos;
      this.pos += 6;
      this.ws();
      if (this.peek() === LPAREN) {
        if (sawReport) this.fail(open, 'only one `(Report ...)` block is allowed in `def`');
        while (this.peek() === LPAREN) {
          this.decl(out, this.pos, true);
          this.ws();
        }
        if (this.peek() !== RPAREN) {
          if (this.pos >= this.len) this.fail(open, 'unclosed `(Report`: missing `)`');
          this.fail(
            this.pos,
            `expected a declaration \`(name value)\` or \`)\` closing \`(Report\`, found ${tokenAt(src, this.pos)}`,
          );
        }
        this.pos++;
        return true;
      }
      this.pos = save;
    }
    this.pos = open;
    this.decl(out, open, false);
    return false;
  }

  decl(out: Declaration[], open: number, inReportBlock: boolean): void {
    const src = this.src;
    this.pos = open + 1;
    this.ws();
    let isVolatile = false;
    if (src.startsWith('volatile', this.pos)) {
      isVolatile = true;
      this.pos += 8;
      this.ws();
    }
    const nameStart = this.pos;
    if (!isNameChar(this.peek())) {
      if (this.peek() === LPAREN && inReportBlock)
        this.fail(this.pos, '`(Report ...)` blocks cannot be nested');
      this.fail(this.pos, `expected a variable name, found ${tokenAt(src, this.pos)}`);
    }
    const written = this.name();
    const name = inReportBlock ? 'Report.' + written : written;
    this.ws();
    const initStart = this.pos;
    const init = this.atom();
    if (init === null) {
      if (this.peek() === LPAREN && written === 'Report') {
        this.fail(
          initStart,
          inReportBlock
            ? '`(Report ...)` blocks cannot be nested'
            : `expected an initial value for \`${name}\`, found ${tokenAt(src, initStart)}`,
        );
      }
      this.fail(
        initStart,
        `expected an initial value (a number, +infinity, true or false) for \`${name}\`, found ${tokenAt(src, initStart)}`,
      );
    }
    if (init.kind === 'name') {
      if (isDigit(src.charCodeAt(initStart))) {
        this.fail(
          initStart,
          `initial value of \`${name}\` is too large: numbers go up to 18446744073709551615 (2^64−1)`,
        );
      }
      this.fail(
        initStart,
        `the initial value of \`${name}\` must be a number, +infinity, true or false, not the name \`${init.name}\``,
      );
    }
    this.ws();
    if (this.peek() !== RPAREN) {
      if (this.pos >= this.len) this.fail(open, `unclosed declaration of \`${name}\`: missing \`)\``);
      this.fail(
        this.pos,
        `expected \`)\` after the initial value of \`${name}\`, found ${tokenAt(src, this.pos)}`,
      );
    }
    this.pos++;
    out.push({
      name,
      nameStart,
      volatile: isVolatile,
      isReport: inReportBlock || name.startsWith('Report.'),
      inReportBlock,
      init,
      start: open,
      end: this.pos,
    });
  }

  /** `event = "(" ws "when" expr expr+ ws ")"` */
  when(): WhenClause {
    const src = this.src;
    const open = this.pos;
    if (this.peek() !== LPAREN) {
      this.fail(open, `expected \`(when\` or the end of the program, found ${tokenAt(src, open)}`);
    }
    this.pos++;
    this.ws();
    if (!src.startsWith('when', this.pos)) {
      if (src.startsWith('def', this.pos))
        this.fail(this.pos, 'only one `(def ...)` clause is allowed, at the start');
      this.fail(this.pos, `expected \`when\`, found ${tokenAt(src, this.pos)}`);
    }
    const whenAt = this.pos;
    this.pos += 4;
    const cond = this.expr(open, 'a condition');
    const body: Expr[] = [];
    for (;;) {
      this.ws();
      const c = this.peek();
      if (c === RPAREN) break;
      if (c === -1) this.fail(open, 'unclosed `(when`: missing `)`');
      body.push(this.expr(open, 'a statement'));
    }
    if (body.length === 0)
      this.fail(whenAt, 'a `when` clause needs at least one statement after its condition');
    this.pos++;
    return { cond, body, start: open, end: this.pos };
  }

  /** `expr = ws (sexp | command | atom) ws`; `open` is the enclosing `(` (for "unclosed"). */
  expr(open: number, what: string): Expr {
    const src = this.src;
    this.ws();
    const start = this.pos;
    const c = this.peek();
    if (c === LPAREN) return this.form();
    const a = this.atom();
    if (a !== null) return a;
    if (c === -1) this.fail(open, `unexpected end of program: missing \`)\` for this \`(\``);
    if (c === RPAREN) this.fail(start, `expected ${what}, found \`)\``);
    this.fail(start, `unexpected ${tokenAt(src, start)}: expected ${what}`);
  }

  /** `sexp = "(" ws op ws expr ws expr ws ")"` or `command = "(" ws ("fallthrough"|"report") ws ")"`. */
  form(): Expr {
    const src = this.src;
    const open = this.pos;
    if (++this.depth > MAX_NESTING) {
      this.fail(
        open,
        `forms nested more than ${MAX_NESTING} deep (such a program would exceed 255 instructions)`,
      );
    }
    this.pos++;
    this.ws();
    const opStart = this.pos;
    const c = this.peek();
    const candidates = c >= 0 && c < 128 ? OPS_BY_CHAR[c] : undefined;
    let spelling: string | undefined;
    let op: Operator | undefined;
    if (candidates !== undefined) {
      for (const [tok, canon] of candidates) {
        if (src.startsWith(tok, opStart)) {
          spelling = tok;
          op = canon;
          break;
        }
      }
    }
    if (op === undefined || spelling === undefined) {
      this.depth--;
      return this.command(open, opStart);
    }
    this.pos = opStart + spelling.length;
    if ((op === '>' || op === '<') && this.peek() === 61 /* = */) {
      this.fail(
        opStart,
        `unknown operator \`${spelling}=\`: there is no \`>=\`/\`<=\` (use \`>\`, \`<\`, \`==\` with \`||\`)`,
      );
    }
    this.ws();
    if (this.peek() === RPAREN) this.fail(this.pos, `\`${spelling}\` needs exactly 2 operands, found none`);
    const left = this.expr(open, `the first operand of \`${spelling}\``);
    this.ws();
    if (this.peek() === RPAREN) this.fail(this.pos, `\`${spelling}\` needs exactly 2 operands, found 1`);
    const right = this.expr(open, `the second operand of \`${spelling}\``);
    this.ws();
    const close = this.peek();
    if (close !== RPAREN) {
      if (close === -1) this.fail(open, 'unexpected end of program: missing `)` for this `(`');
      this.fail(this.pos, `\`${spelling}\` takes exactly 2 operands; found more before \`)\``);
    }
    this.pos++;
    this.depth--;
    return { kind: 'op', op, spelling, opStart, left, right, start: open, end: this.pos };
  }

  command(open: number, at: number): CommandForm {
    const src = this.src;
    let command: 'report' | 'fallthrough' | undefined;
    if (src.startsWith('report', at)) command = 'report';
    else if (src.startsWith('fallthrough', at)) command = 'fallthrough';
    if (command === undefined) {
      const c = this.peek();
      if (c === RPAREN) this.fail(open, 'empty form `()`');
      if (c === -1) this.fail(open, 'unexpected end of program: missing `)` for this `(`');
      let end = at;
      while (end < this.len && isNameChar(src.charCodeAt(end))) end++;
      const word = src.slice(at, end);
      if (word === 'reset') {
        this.fail(
          at,
          '`(reset)` is not part of the language: declare variables `volatile` to reset them after each report',
        );
      }
      if (word === 'when' || word === 'def') {
        this.fail(at, `\`(${word}\` cannot appear inside an expression (is a \`)\` missing before it?)`);
      }
      this.fail(at, `unknown operator ${tokenAt(src, at)}`);
    }
    this.pos = at + command.length;
    this.ws();
    if (this.peek() !== RPAREN) {
      if (this.pos >= this.len) this.fail(open, 'unexpected end of program: missing `)` for this `(`');
      this.fail(
        this.pos,
        `\`(${command})\` takes no operands; expected \`)\`, found ${tokenAt(src, this.pos)}`,
      );
    }
    this.pos++;
    return { kind: 'command', command, start: open, end: this.pos };
  }
}

/** Parse result plus the parser's notes (turned into warnings by the compiler). */
export interface ParseResult {
  ast: ProgramAst;
  notes: ParseNote[];
}

/** Parse `source`; throws `CompileError` on a syntax error. */
export function parseWithNotes(source: string): ParseResult {
  const p = new Parser(source);
  const ast = p.program();
  return { ast, notes: p.notes };
}
