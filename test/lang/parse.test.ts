// Parsing: checklist section C (items 26–36) and one test per lexical/syntactic construct.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, parse } from '../../src/lang/index.ts';
import { assertCompiles, assertError, assertSameOutput, evs } from './helpers.ts';

const BODY = '(when true (:= Report.x 1))';

test('[C.26] `(def)` followed by a when clause compiles', () => {
  assertCompiles('(def)(when true (:= Cwnd 1))', ['BIND I.0 I.0 #1', 'BIND I.4 I.4 #1'], evs([0, 1, 1, 1]));
  assertCompiles('(def)\n\n(when true (:= Cwnd 1))\n', ['BIND I.0 I.0 #1', 'BIND I.4 I.4 #1']);
});

test('[C.26] `(def )` is rejected (portus quirk)', () => {
  assertError(`(def )${BODY}`, 1, 5, /`\(def \)` is rejected/);
  assertError(`(def\n)${BODY}`, 1, 5, /`\(def \)` is rejected/);
});

test('[C.26] a comment does not make `(def )` acceptable', () => {
  assertError(`(def # nothing\n)${BODY}`, 1, 5, /`\(def \)` is rejected/);
});

test('[C.26] `( def ...)` is rejected', () => {
  assertError(`( def (Report.x 0))${BODY}`, 1, 3, /without whitespace between `\(` and `def`/);
});

test('[C.26] whitespace before `)` of def is accepted after a declaration', () => {
  assertSameOutput(`(def (Report.x 0) )${BODY}`, `(def (Report.x 0))${BODY}`);
  assertSameOutput(`  \n(def(Report.x 0))${BODY}`, `(def (Report.x 0))${BODY}`);
});

test('[C.27] a name beginning with `__` is rejected anywhere', () => {
  assertError(`(def (__x 0))${BODY}`, 1, 7, /names starting with `__` are reserved: `__x`/);
  assertError(`(def (Report (__x 0)))${BODY}`, 1, 15, /reserved: `__x`/);
  assertError(
    '(def (Report.x 0))\n(when true\n  (:= __shouldReport true))',
    3,
    7,
    /reserved: `__shouldReport`/,
  );
  assertError(
    '(def (Report.x 0))\n(when (> __eventFlag 1) (:= Report.x 1))',
    2,
    10,
    /reserved: `__eventFlag`/,
  );
  // `a__b` is an ordinary name
  assertCompiles('(def (Report.x 0))(when true (:= a__b 1))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND L.0 L.0 #1',
  ]);
});

test('[C.28] `(>= a b)` is rejected', () => {
  assertError('(def (Report.x 0))(when (>= Micros 1) (:= Report.x 1))', 1, 26, /unknown operator `>=`/);
  assertError('(def (Report.x 0))(when (<= Micros 1) (:= Report.x 1))', 1, 26, /unknown operator `<=`/);
  assertError('(def (Report.x 0))(when (!= Micros 1) (:= Report.x 1))', 1, 26, /unknown operator `!=`/);
});

test('[C.28] `(blah 1 2)` is rejected as an unknown operator', () => {
  assertError('(def (Report.x 0))\n(when true\n    (blah 1 2))', 3, 6, /unknown operator `blah`/);
  assertError('(def (Report.x 0))(when true (not true))', 1, 31, /unknown operator `not`/);
});

test('[C.28] unbalanced forms are rejected, pointing at the unclosed `(`', () => {
  assertError('(def (Report.x 0))\n(when true\n  (:= Report.x (+ 1 2)\n', 3, 3, /missing `\)` for this `\(`/);
  assertError('(def (Report.x 0))\n(when true\n  (:= Report.x (+ 1 2))\n', 2, 1, /unclosed `\(when`/);
  assertError('(def (Report.x 0))(when true (:= Report.x (+ 1 2', 1, 43, /missing `\)` for this `\(`/);
  assertError('(def (Report.x 0)', 1, 1, /unclosed `\(def`/);
  assertError(
    '(def (Report.x 0)(when true (:= Report.x 1))',
    1,
    29,
    /expected `\)` after the initial value of `when`/,
  );
  assertError(`(def (Report.x 0))${BODY})`, 1, 46, /expected `\(when` or the end of the program, found `\)`/);
});

test('[C.28] `(reset)` is rejected', () => {
  assertError('(def (Report.x 0))(when true (reset))', 1, 31, /`\(reset\)` is not part of the language/);
});

test('[C.29] `+infinity` is an immediate with u32 field 0xFFFFFFFF', () => {
  const p = assertCompiles('(def (Report.x 0))(when true (:= Report.x +infinity))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND R6.0 R6.0 #4294967295',
  ]);
  assert.equal(p.instructions[2]!.right.index, 0xffffffff);
  // 18446744073709551615 written out is the same number
  assertSameOutput(
    '(def (Report.x 0))(when true (:= Report.x +infinity))',
    '(def (Report.x 0))(when true (:= Report.x 18446744073709551615))',
  );
  const ast = parse('(def (Report.x +infinity))(when true (:= Report.x 1))');
  assert.equal(ast.declarations[0]!.init.kind, 'number');
  assert.equal((ast.declarations[0]!.init as { value: bigint }).value, 2n ** 64n - 1n);
});

test('[C.30] a number ≥ 2^31 (not 2^64−1) as an immediate is rejected; 2147483647 is accepted', () => {
  assertCompiles('(def (Report.x 0))(when true (:= Report.x 2147483647))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND R6.0 R6.0 #2147483647',
  ]);
  assertError(
    '(def (Report.x 0))(when true (:= Report.x 2147483648))',
    1,
    43,
    /number too large for an instruction/,
  );
  assertError('(def (Report.x 0))(when true (:= Report.x 18446744073709551614))', 1, 43, /too large/);
  assertError('(def (Report.x 4294967296))(when true (:= Report.x 1))', 1, 16, /too large/);
  assertError('(def (Report.x 0))\n(when (> Micros 3000000000) (:= Report.x 1))', 2, 17, /too large/);
});

test('[C.30] a large number that is never serialized (a bare statement) compiles, as in portus', () => {
  assertCompiles('(def (Report.x 0))(when true 3000000000 (:= Report.x 1))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND R6.0 R6.0 #1',
  ]);
});

test('[C.31] operator needs no separator: `(:=a(+1 2))` ≡ `(:= a (+ 1 2))`', () => {
  assertSameOutput(
    '(def (Report.x 0))(when true (:=a(+1 2)))',
    '(def (Report.x 0))(when true (:= a (+ 1 2)))',
  );
  assertSameOutput(
    '(def (Report.x 0))(when(>Micros 5)(:=Report.x(min Report.x 4)))',
    '(def (Report.x 0))(when (> Micros 5) (:= Report.x (min Report.x 4)))',
  );
});

test('[C.32] `(def (volatileCount 0))` declares a volatile control variable named `Count`', () => {
  const p = assertCompiles('(def (volatileCount 0))(when true (:= Count 1))', [
    'DEF C8.0 C8.0 #0',
    'BIND I.0 I.0 #1',
    'BIND C8.0 C8.0 #1',
  ]);
  assert.deepEqual(p.scope.resolveUpdate('Count'), { regType: 8, regIndex: 0 });
  assert.equal(parse('(def (volatileCount 0))(when true (:= Count 1))').declarations[0]!.name, 'Count');
});

test('[C.33] one `#` comment line before a when clause is accepted and changes nothing', () => {
  const plain = '(def (Report.x 0))\n(when true (:= Report.x 1))\n(when false (:= Report.x 2))\n';
  assertSameOutput(
    '(def (Report.x 0))\n# first clause\n(when true (:= Report.x 1))\n# second clause\n(when false (:= Report.x 2))\n',
    plain,
  );
});

test('[C.33] comments before `(def`, after the last clause, several in a row, and inside forms are accepted as whitespace (documented extension)', () => {
  const plain = '(def (Report.x 0))\n(when true (:= Report.x 1))\n';
  assertSameOutput(
    '# leading\n# two lines\n(def (Report.x 0))\n(when true (:= Report.x 1))\n# trailing\n',
    plain,
  );
  assertSameOutput('(def (Report.x 0))\n(when true (:= Report.x 1))\n# no final newline', plain);
  assertSameOutput(
    '(def # declarations\n  (Report.x 0) # x\n)\n(when # cond\n true # body\n (:= # target\n Report.x 1))\n',
    plain,
  );
});

test('[C.34] a Bool variable or Bool primitive as a condition is rejected', () => {
  assertError(
    '(def (Report.x 0))\n(when Flow.was_timeout (:= Report.x 1))',
    2,
    7,
    /write `\(&& Flow.was_timeout true\)`/,
  );
  assertError(
    '(def (timeout false) (Report.x 0))\n(when timeout (:= Report.x 1))',
    2,
    7,
    /a condition must be a comparison/,
  );
  assertError('(def (Report.x 0))\n(when Cwnd (:= Report.x 1))', 2, 7, /a condition must be a comparison/);
  assertError('(def (Report.x 0))\n(when 1 (:= Report.x 1))', 2, 7, /a condition must be a comparison/);
  assertError('(def (Report.x 0))\n(when (+ 1 2) (:= Report.x 1))', 2, 7, /a condition must be a comparison/);
  assertError(
    '(def (Report.x 0))\n(when (:= a true) (:= Report.x 1))',
    2,
    7,
    /a condition must be a comparison/,
  );
});

test('[C.34] `(when (&& Flow.was_timeout true) ...)` compiles to `MUL flag ← P.14 × #1`', () => {
  assertCompiles('(def (Report.x 0))(when (&& Flow.was_timeout true) (:= Report.x 1))', [
    'DEF R6.0 R6.0 #0',
    'MUL I.0 P.14 #1',
    'BIND R6.0 R6.0 #1',
  ]);
});

test('[C.35] a Report variable as a condition is a compile error, not a crash', () => {
  assertError(
    '(def (Report (flag false)))\n(when Report.flag (report))',
    2,
    7,
    /a Report variable \(`Report.flag`\) cannot be used directly as a condition/,
  );
  assertError('(def (Report.n 0))\n(when Report.n (report))', 2, 7, /cannot be used directly as a condition/);
});

test('[C.36] `(report)` or `(fallthrough)` as a condition is rejected', () => {
  assertError(
    '(def (Report.x 0))\n(when (report) (:= Report.x 1))',
    2,
    7,
    /`\(report\)` is a statement and cannot be a condition/,
  );
  assertError(
    '(def (Report.x 0))\n(when (fallthrough) (:= Report.x 1))',
    2,
    7,
    /`\(fallthrough\)` is a statement/,
  );
  assertError(
    '(def (Report.x 0))\n(when (&& (report) true) (:= Report.x 1))',
    2,
    11,
    /`\(report\)` is a statement/,
  );
});

test('[§2.3] numbers: decimal, leading zeros, no sign; above 2^64−1 a digit string is a name (portus)', () => {
  assertSameOutput(
    '(def (Report.x 007))(when true (:= Report.x 0010))',
    '(def (Report.x 7))(when true (:= Report.x 10))',
  );
  const p = assertCompiles('(def (Report.x 0))(when true (:= Report.x 18446744073709551616))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND R6.0 R6.0 L.0',
  ]);
  assert.match(p.warnings[0]!, /^1:43: `18446744073709551616` is above 2\^64−1/);
  assertError('(def (Report.x 0))(when true (:= Report.x -1))', 1, 43, /unexpected `-1`/);
  assertError('(def (Report.x 0))(when true (:= Report.x 0x10))', 1, 44, /takes exactly 2 operands/);
});

test('[§2.4] `true`/`false` are 1/0 immediates; a name starting with `true` splits (portus)', () => {
  assertCompiles('(def (Report (b false)))(when true (:= Report.b true) (:= Report.b false))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND R6.0 R6.0 #1',
    'BIND R6.0 R6.0 #0',
  ]);
  // `trueish` as a condition reads `true`, then `ish` is a (local) body statement
  assertSameOutput(
    '(def (Report.x 0))(when trueish (:= Report.x 1))',
    '(def (Report.x 0))(when true ish (:= Report.x 1))',
  );
  assertError('(def (Report.x 0))(when true (:= Report.x trueish))', 1, 47, /takes exactly 2 operands/);
});

test('[§2.5] names: letters, digits, `.` and `_`; case-sensitive; dots have no meaning', () => {
  const p = compile('(def (Report.x 0) (a.b.c 1) (_u 2) (cwnd 3))(when true (:= a.b.c _u) (:= cwnd Cwnd))');
  assert.deepEqual(
    p.scope.variables.map((v) => [v.name, v.kind, v.regType, v.regIndex]),
    [
      ['Report.x', 'report', 6, 0],
      ['a.b.c', 'control', 0, 0],
      ['_u', 'control', 0, 1],
      ['cwnd', 'control', 0, 2],
    ],
  );
  assertError('(def (Report.x 0))(when true (:= Report.x é))', 1, 43, /unexpected `é`/);
});

test('[§2.6] every operator alias compiles like its symbol', () => {
  const pairs: [string, string][] = [
    ['add', '+'],
    ['sub', '-'],
    ['mul', '*'],
    ['div', '/'],
    ['eq', '=='],
    ['gt', '>'],
    ['lt', '<'],
  ];
  for (const [alias, sym] of pairs) {
    const a = `(def (Report.x 0))(when true (:= Report.x (${alias} 4 2)))`;
    assertSameOutput(a, `(def (Report.x 0))(when true (:= Report.x (${sym} 4 2)))`);
    const min = compile('(def (Report.x 0))(when true (:= Report.x (min 4 2)))');
    assert.notEqual(compile(a).instructions[2]!.op, min.instructions[2]!.op, `${alias} is not min`);
  }
  assertSameOutput(
    '(def (Report.x 0))(when (and true true) (bind Report.x 1))',
    '(def (Report.x 0))(when (&& true true) (:= Report.x 1))',
  );
  assertSameOutput(
    '(def (Report.x 0))(when (or true false) (bind Report.x 1))',
    '(def (Report.x 0))(when (|| true false) (:= Report.x 1))',
  );
});

test('[§2.7] `(whentrue ...)` is `(when true ...)`; `(iff a b)` is `if` applied to `f` and `a`', () => {
  assertSameOutput(
    '(def (Report.x 0))(whentrue (:= Report.x 1))',
    '(def (Report.x 0))(when true (:= Report.x 1))',
  );
  assertError(
    '(def (Report.x 0))(when true (:= Report.x (iff a b)))',
    1,
    50,
    /`if` takes exactly 2 operands/,
  );
});

test('[§3] a when clause with an empty body is rejected', () => {
  assertError('(def (Report.x 0))\n(when true)', 2, 2, /needs at least one statement/);
  assertError('(def (Report.x 0))\n(when)', 2, 6, /expected a condition, found `\)`/);
});

test('[§3] every operator form has exactly two operands', () => {
  assertError('(def (Report.x 0))(when true (+))', 1, 32, /`\+` needs exactly 2 operands, found none/);
  assertError('(def (Report.x 0))(when true (+ 1))', 1, 34, /`\+` needs exactly 2 operands, found 1/);
  assertError('(def (Report.x 0))(when true (+ 1 2 3))', 1, 37, /`\+` takes exactly 2 operands/);
  assertError('(def (Report.x 0))(when true (report 1))', 1, 38, /takes no operands/);
  assertError('(def (Report.x 0))(when true ())', 1, 30, /empty form/);
});

test('[§3] structure: `(def` first, at most one def, at least one when, no trailing text', () => {
  assertError('(when true (:= Cwnd 1))', 1, 2, /a program starts with `\(def`/);
  assertError('', 1, 1, /a program starts with `\(def`/);
  assertError('(def (Report.x 0))', 1, 19, /at least one `\(when/);
  assertError('(def (Report.x 0))(def)(when true (:= Report.x 1))', 1, 20, /only one `\(def/);
  assertError(
    `(def (Report.x 0))${BODY} trailing`,
    1,
    47,
    /expected `\(when` or the end of the program, found `trailing`/,
  );
  assertError(
    '(def (Report.x 0))(when true (:= Report.x (when true 1)))',
    1,
    44,
    /`\(when` cannot appear inside an expression/,
  );
});

test('[§4] declarations: Report block, volatile, top-level Report.*, one Report block, no nesting', () => {
  const ast = parse(
    '(def (a 1) (Report (volatile r 0) (s true)) (volatile Report.t 2) (volatile b 3))(when true (:= a 1))',
  );
  assert.deepEqual(
    ast.declarations.map((d) => [d.name, d.volatile, d.isReport, d.inReportBlock]),
    [
      ['a', false, false, false],
      ['Report.r', true, true, true],
      ['Report.s', false, true, true],
      ['Report.t', true, true, false],
      ['b', true, false, false],
    ],
  );
  assertError(`(def (Report (a 0)) (Report (b 0)))${BODY}`, 1, 21, /only one `\(Report \.\.\.\)` block/);
  assertError(`(def (Report (Report (b 0))))${BODY}`, 1, 22, /cannot be nested/);
  assertError(`(def (Report))${BODY}`, 1, 13, /expected an initial value/);
  // a top-level variable may be called `Report` (it is a control variable)
  assert.equal(compile('(def (Report 5))(when true (:= Report 1))').scope.resolveUpdate('Report').regType, 0);
});

test('[§4.1] a declaration needs a literal initial value', () => {
  assertError(
    `(def (Report.x y))${BODY}`,
    1,
    16,
    /must be a number, \+infinity, true or false, not the name `y`/,
  );
  assertError(`(def (Report.x))${BODY}`, 1, 15, /expected an initial value/);
  assertError(`(def (Report.x 1 2))${BODY}`, 1, 18, /expected `\)` after the initial value/);
  assertError(`(def (volatile))${BODY}`, 1, 15, /expected a variable name/);
  assertError(`(def (Report.x 99999999999999999999))${BODY}`, 1, 16, /is too large/);
});

test('parse(): the syntax tree keeps operators (canonical and as written), literals and positions', () => {
  const src =
    '(def (Report (volatile n 0)) (lim +infinity))\n(when (and (gt Micros 5) true)\n  (bind Report.n (ewma 3 Ack.now))\n  (report))';
  const ast = parse(src);
  assert.deepEqual(
    ast.declarations.map((d) => [
      d.name,
      d.volatile,
      d.isReport,
      d.init.kind,
      src.slice(d.start, d.end),
      src.slice(d.nameStart, d.nameStart + 1),
    ]),
    [
      ['Report.n', true, true, 'number', '(volatile n 0)', 'n'],
      ['lim', false, false, 'number', '(lim +infinity)', 'l'],
    ],
  );
  const [clause] = ast.clauses;
  assert.ok(clause !== undefined);
  const cond = clause.cond;
  assert.ok(cond.kind === 'op');
  assert.deepEqual([cond.op, cond.spelling, src.slice(cond.opStart, cond.opStart + 3)], ['&&', 'and', 'and']);
  assert.ok(cond.left.kind === 'op' && cond.left.op === '>' && cond.left.spelling === 'gt');
  assert.deepEqual(cond.right, {
    kind: 'bool',
    value: true,
    start: src.indexOf('true'),
    end: src.indexOf('true') + 4,
  });
  const [bind, report] = clause.body;
  assert.ok(bind?.kind === 'op' && bind.op === ':=' && bind.spelling === 'bind');
  assert.equal(src.slice(bind.start, bind.end), '(bind Report.n (ewma 3 Ack.now))');
  assert.ok(bind.right.kind === 'op' && bind.right.op === 'ewma');
  assert.deepEqual(bind.right.left, {
    kind: 'number',
    value: 3n,
    infinity: false,
    start: src.indexOf('3 Ack'),
    end: src.indexOf('3 Ack') + 1,
  });
  assert.deepEqual(report, {
    kind: 'command',
    command: 'report',
    start: src.lastIndexOf('(report)'),
    end: src.lastIndexOf('(report)') + 8,
  });
});
