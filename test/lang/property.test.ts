// Property tests (fast-check, fixed seeds): random well-typed programs from a small grammar always
// compile (and their whitespace/comments/alias spelling never changes the output); random text and
// byte strings, and random mutations of valid programs, never make the compiler throw anything but
// a CompileError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompileError } from '../../src/errors.ts';
import { compile, Limits } from '../../src/lang/index.ts';
import type { Program } from '../../src/lang/index.ts';
import { EXAMPLE_A, EXAMPLE_B, EXAMPLE_C } from './fixtures.ts';

// ---- a tiny typed program model, rendered to text with a chosen whitespace style ----

type Num = { t: 'lit'; v: number } | { t: 'var'; name: string } | { t: 'op'; op: string; l: Num; r: Num };
type Bool =
  | { t: 'blit'; v: boolean }
  | { t: 'bvar'; name: string }
  | { t: 'cmp'; op: string; l: Num; r: Num }
  | { t: 'logic'; op: string; l: Bool; r: Bool };
type Stmt =
  | { t: 'bindNum'; target: string; e: Num }
  | { t: 'bindBool'; target: string; e: Bool }
  | { t: 'stateful'; target: string; op: string; l: Num | Bool; r: Num }
  | { t: 'cmd'; c: 'report' | 'fallthrough' };
interface Model {
  decls: { name: string; volatile: boolean; report: boolean; bool: boolean; init: number }[];
  clauses: { cond: Bool; body: Stmt[] }[];
}

const NUM_OPS = [['+', 'add'], ['-', 'sub'], ['*', 'mul'], ['/', 'div'], ['max'], ['min'], ['wrapped_max']];
const CMP_OPS = [
  ['==', 'eq'],
  ['>', 'gt'],
  ['<', 'lt'],
];
const LOGIC_OPS = [
  ['&&', 'and'],
  ['||', 'or'],
];
const NUM_BUILTINS = [
  'Ack.bytes_acked',
  'Ack.now',
  'Flow.rtt_sample_us',
  'Flow.bytes_in_flight',
  'Micros',
  'Cwnd',
  'Rate',
];

function arbModel(): fc.Arbitrary<Model> {
  const decl = fc.record({
    volatile: fc.boolean(),
    report: fc.boolean(),
    bool: fc.boolean(),
    init: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  return fc.array(decl, { minLength: 1, maxLength: 10 }).chain((raw) => {
    const decls = raw.map((d, i) => ({ ...d, name: d.report ? `Report.v${i}` : `c${i}` }));
    const numVars = decls.filter((d) => !d.bool).map((d) => d.name);
    const boolVars = decls.filter((d) => d.bool).map((d) => d.name);
    const mutable = decls.map((d) => d.name);
    const leaf: fc.Arbitrary<Num> = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((v): Num => ({ t: 'lit', v })),
      fc.constantFrom(...NUM_BUILTINS, ...numVars).map((name): Num => ({ t: 'var', name })),
    );
    // depth ≤ 3 → at most 7 operator nodes → at most 7 temps per statement
    const num = (d: number): fc.Arbitrary<Num> =>
      d === 0
        ? leaf
        : fc.oneof(
            leaf,
            fc
              .record({
                op: fc.constantFrom(...NUM_OPS).chain((a) => fc.constantFrom(...a)),
                l: num(d - 1),
                r: num(d - 1),
              })
              .map((o): Num => ({ t: 'op', ...o })),
          );
    const cmp = (d: number): fc.Arbitrary<Bool> =>
      fc
        .record({ op: fc.constantFrom(...CMP_OPS).chain((a) => fc.constantFrom(...a)), l: num(d), r: num(d) })
        .map((o): Bool => ({ t: 'cmp', ...o }));
    const boolLeaf: fc.Arbitrary<Bool> = fc
      .constantFrom('Flow.was_timeout', ...boolVars)
      .map((name): Bool => ({ t: 'bvar', name }));
    const bool = (d: number): fc.Arbitrary<Bool> =>
      d <= 1
        ? cmp(0)
        : fc.oneof(
            cmp(1),
            fc
              .record({
                op: fc.constantFrom(...LOGIC_OPS).chain((a) => fc.constantFrom(...a)),
                l: fc.oneof(bool(d - 1), boolLeaf),
                r: fc.oneof(bool(d - 1), boolLeaf),
              })
              .map((o): Bool => ({ t: 'logic', ...o })),
          );
    const boolOrLit = fc.oneof(
      bool(2),
      fc.boolean().map((v): Bool => ({ t: 'blit', v })),
    );
    const stmt: fc.Arbitrary<Stmt> = fc.oneof(
      numVars.length > 0
        ? fc
            .record({ target: fc.constantFrom(...numVars, 'Cwnd', 'Rate', 'Micros'), e: num(3) })
            .map((s): Stmt => ({ t: 'bindNum', ...s }))
        : fc
            .record({ target: fc.constantFrom('Cwnd', 'Rate', 'Micros'), e: num(3) })
            .map((s): Stmt => ({ t: 'bindNum', ...s })),
      fc
        .record({ target: fc.constantFrom(...mutable), e: bool(2) })
        .map((s): Stmt => ({ t: 'bindBool', ...s })),
      fc
        .record({
          target: fc.constantFrom(...mutable),
          op: fc.constantFrom('if', '!if', 'ewma'),
          l: fc.oneof(num(1), bool(2)),
          r: num(1),
        })
        .map((s): Stmt => ({ t: 'stateful', ...s })),
      fc.constantFrom('report' as const, 'fallthrough' as const).map((c): Stmt => ({ t: 'cmd', c })),
    );
    const clause = fc.record({ cond: boolOrLit, body: fc.array(stmt, { minLength: 1, maxLength: 4 }) });
    return fc.array(clause, { minLength: 1, maxLength: 5 }).map((clauses) => ({ decls, clauses }));
  });
}

/** Whitespace/comment style: `sep` between tokens (never empty), `open` after `(` (may be empty). */
interface Style {
  sep: string;
  open: string;
  alias: boolean;
}

function isBool(e: Num | Bool): e is Bool {
  return e.t === 'cmp' || e.t === 'logic' || e.t === 'blit' || e.t === 'bvar';
}

function render(m: Model, s: Style): string {
  const pick = (a: string[]) => (s.alias && a.length > 1 ? a[1]! : a[0]!);
  const opOf = (op: string, table: string[][]) => pick(table.find((a) => a.includes(op))!);
  const n = (e: Num): string =>
    e.t === 'lit'
      ? String(e.v)
      : e.t === 'var'
        ? e.name
        : `(${s.open}${opOf(e.op, NUM_OPS)}${s.sep}${n(e.l)}${s.sep}${n(e.r)}${s.open})`;
  const b = (e: Bool): string =>
    e.t === 'blit'
      ? String(e.v)
      : e.t === 'bvar'
        ? e.name
        : e.t === 'cmp'
          ? `(${s.open}${opOf(e.op, CMP_OPS)}${s.sep}${n(e.l)}${s.sep}${n(e.r)}${s.open})`
          : `(${s.open}${opOf(e.op, LOGIC_OPS)}${s.sep}${b(e.l)}${s.sep}${b(e.r)}${s.open})`;
  const bind = s.alias ? 'bind' : ':=';
  const st = (x: Stmt): string => {
    switch (x.t) {
      case 'bindNum':
        return `(${s.open}${bind}${s.sep}${x.target}${s.sep}${n(x.e)})`;
      case 'bindBool':
        return `(${s.open}${bind}${s.sep}${x.target}${s.sep}${b(x.e)})`;
      case 'stateful': {
        const l = isBool(x.l) ? b(x.l) : n(x.l);
        return `(${s.open}${bind}${s.sep}${x.target}${s.sep}(${s.open}${x.op}${s.sep}${l}${s.sep}${n(x.r)}))`;
      }
      case 'cmd':
        return `(${s.open}${x.c}${s.open})`;
    }
  };
  const reportBlock = m.decls.filter((d) => d.report);
  const top = m.decls.filter((d) => !d.report);
  const decl = (d: Model['decls'][number], name: string) =>
    `(${s.open}${d.volatile ? 'volatile' + s.sep : ''}${name}${s.sep}${d.bool ? (d.init % 2 === 1 ? 'true' : 'false') : d.init}${s.open})`;
  const defs = [
    ...(reportBlock.length > 0
      ? [`(${s.open}Report${s.sep}${reportBlock.map((d) => decl(d, d.name.slice(7))).join(s.sep)})`]
      : []),
    ...top.map((d) => decl(d, d.name)),
  ];
  const clauses = m.clauses.map(
    (c) => `(${s.open}when${s.sep}${b(c.cond)}${s.sep}${c.body.map(st).join(s.sep)}${s.open})`,
  );
  return `(def${s.sep}${defs.join(s.sep)})${s.sep}${clauses.join(s.sep)}\n`;
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  sep: fc.constantFrom(' ', '\n', '\t', '  \r\n  ', ' # a comment\n '),
  open: fc.constantFrom('', ' ', '\n'),
  alias: fc.boolean(),
});

function sane(p: Program): void {
  assert.ok(p.instructions.length <= Limits.INSTRUCTIONS);
  let cur = p.instructions.findIndex((i) => i.op !== 2);
  for (const ev of p.events) {
    assert.equal(ev.condStart, cur);
    assert.equal(ev.bodyStart, ev.condStart + ev.condCount);
    cur = ev.bodyStart + ev.bodyCount;
  }
  assert.equal(cur, p.instructions.length);
  for (const ins of p.instructions) {
    for (const o of [ins.result, ins.left, ins.right]) {
      assert.ok(o.type >= 0 && o.type <= 8, 'no NONE operand survives');
      if (o.type === 7) assert.ok(o.index < Limits.TEMPS);
      if (o.type === 3) assert.ok(o.index < Limits.LOCALS);
    }
  }
}

test('property: random well-typed programs always compile, whatever their whitespace, comments and aliases', () => {
  fc.assert(
    fc.property(arbModel(), styleArb, styleArb, (m, s1, s2) => {
      const a = compile(render(m, s1));
      const b = compile(render(m, s2));
      sane(a);
      assert.deepEqual(a.instructions, b.instructions);
      assert.deepEqual(a.events, b.events);
      assert.equal(a.events.length, m.clauses.length);
      assert.equal(a.instructions.filter((i) => i.op === 2).length, m.decls.length);
      assert.equal(a.scope.reportFields.length, m.decls.filter((d) => d.report).length);
    }),
    { seed: 20261125, numRuns: 400 },
  );
});

function onlyCompileErrors(text: string): void {
  try {
    sane(compile(text));
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    assert.ok(
      e.line >= 1 && e.column >= 1 && e.offset >= 0 && e.offset <= text.length,
      `position of ${e.message}`,
    );
  }
}

test('fuzz: random strings never throw anything but CompileError', () => {
  const alphabet = fc.constantFrom(
    ...'()()  \n\t#:=+-*/<>!&|._0123456789abcdefghijklmnopqrstuvwxyzACDFRM'.split(''),
  );
  const tokens = fc.constantFrom(
    '(',
    ')',
    '(def',
    '(when',
    'true',
    'false',
    '+infinity',
    'Report',
    'volatile',
    '(report)',
    '(fallthrough)',
    ':=',
    'if',
    '!if',
    'ewma',
    'Report.x',
    'Cwnd',
    'Micros',
    'Ack.now',
    '__x',
    '2147483648',
    '18446744073709551616',
    '7',
    ' ',
    '\n',
    '# c\n',
    '&&',
    '||',
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.string({ unit: alphabet, maxLength: 200 }),
        fc.array(tokens, { maxLength: 60 }).map((a) => a.join('')),
        fc.array(tokens, { maxLength: 60 }).map((a) => '(def (Report.x 0))' + a.join('')),
      ),
      (text) => onlyCompileErrors(text),
    ),
    { seed: 7, numRuns: 3000 },
  );
});

test('fuzz: random byte strings (as latin1 and as UTF-8 text) never throw anything but CompileError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      onlyCompileErrors(Buffer.from(bytes).toString('latin1'));
      onlyCompileErrors(Buffer.from(bytes).toString('utf8'));
    }),
    { seed: 11, numRuns: 2000 },
  );
});

test('fuzz: mutations of valid programs (delete, insert, replace, swap) never throw anything but CompileError', () => {
  const seeds = [EXAMPLE_A, EXAMPLE_B, EXAMPLE_C];
  const insertable = fc.constantFrom(
    '(',
    ')',
    ' ',
    'x',
    '1',
    '#',
    '\n',
    'if',
    '(report)',
    'true',
    ':=',
    '__',
    '9999999999',
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), insertable), { minLength: 1, maxLength: 6 }),
      (src, edits) => {
        let s = src;
        for (const [where, kind, text] of edits) {
          const i = where % (s.length + 1);
          if (kind === 0) s = s.slice(0, i) + s.slice(i + 1);
          else if (kind === 1) s = s.slice(0, i) + text + s.slice(i);
          else if (kind === 2) s = s.slice(0, i) + text + s.slice(i + text.length);
          else s = s.slice(i) + s.slice(0, i);
        }
        onlyCompileErrors(s);
      },
    ),
    { seed: 3, numRuns: 3000 },
  );
});

test('fuzz: absurdly deep nesting is a CompileError, not a stack overflow', () => {
  for (const open of ['(+ 1 ', '(:= a ', '(if true ', '(']) {
    const src = '(def (Report.x 0))(when true ' + open.repeat(100_000) + '1' + ')'.repeat(100_000) + ')';
    assert.throws(() => compile(src), CompileError);
  }
  // 300 levels parse fine (and then exceed the temp limit, a normal compile error)
  assert.throws(
    () => compile('(def)(when true ' + '(+ 1 '.repeat(300) + '1' + ')'.repeat(300) + ')'),
    /too many temporaries/,
  );
});
