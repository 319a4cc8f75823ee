// Code generation: checklist section D (items 37–53) and one test per operator, built-in and
// command (spec language.md §6–§8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/index.ts';
import { assertCompiles, assertError, evs } from './helpers.ts';

test('[D.37] report registers: Report block first, then top-level Report.* in textual order; controls in textual order', () => {
  // the spec's §8.1 example
  const p = compile(
    '(def (Report.z 0) (Report (y 0) (x 0)) (Report.w 0) (Beta 1) (alpha 2))(when true (:= Beta 1))',
  );
  assert.deepEqual(p.scope.reportFields, ['Report.y', 'Report.x', 'Report.z', 'Report.w']);
  assert.deepEqual(p.scope.resolveUpdate('Beta'), { regType: 0, regIndex: 0 });
  assert.deepEqual(p.scope.resolveUpdate('alpha'), { regType: 0, regIndex: 1 });
  // ... and the registers in the DEF block say the same
  assert.deepEqual(
    p.instructions.slice(0, 6).map((i) => [i.result.type, i.result.index, i.right.index]),
    [
      [0, 0, 1], // Beta
      [6, 3, 0], // Report.w
      [6, 1, 0], // Report.x
      [6, 0, 0], // Report.y
      [6, 2, 0], // Report.z
      [0, 1, 2], // alpha
    ],
  );
});

test('[D.37] volatility does not affect numbering (§11.2)', () => {
  const p = compile(
    '(def (Report (volatile rtt 0) (volatile acked 0) (minrtt +infinity)))(when true (report))',
  );
  assert.deepEqual(p.scope.reportFields, ['Report.rtt', 'Report.acked', 'Report.minrtt']);
  assert.deepEqual(
    p.scope.variables.map((v) => [v.name, v.regType, v.regIndex]),
    [
      ['Report.rtt', 5, 0],
      ['Report.acked', 5, 1],
      ['Report.minrtt', 6, 2],
    ],
  );
});

test('[D.38] DEFs come first, one per variable, by byte-wise name (uppercase < lowercase, Control.x < Report.x < alpha)', () => {
  assertCompiles('(def (alpha 1) (Report.x 2) (Control.state 3) (Zeta 4) (_u 5))(when true (:= alpha 1))', [
    'DEF C0.1 C0.1 #3', // Control.state
    'DEF R6.0 R6.0 #2', // Report.x
    'DEF C0.2 C0.2 #4', // Zeta
    'DEF C0.3 C0.3 #5', // _u
    'DEF C0.0 C0.0 #1', // alpha
    'BIND I.0 I.0 #1',
    'BIND C0.0 C0.0 #1',
  ]);
});

test('[D.39] a DEF is op 2, result = left = the variable, right = IMMEDIATE(init), true/false → 1/0', () => {
  assertCompiles('(def (Report (volatile t true) (f false)) (volatile c +infinity))(when true (:= c 0))', [
    'DEF R6.1 R6.1 #0',
    'DEF R5.0 R5.0 #1',
    'DEF C8.0 C8.0 #4294967295',
    'BIND I.0 I.0 #1',
    'BIND C8.0 C8.0 #0',
  ]);
});

test('[D.40] a comparison/boolean condition has its last instruction retargeted to I.0; a literal condition is `BIND I.0 ← #b`', () => {
  assertCompiles('(def (Report.x 0))(when (> Micros 5) (:= Report.x 1))(when false (:= Report.x 2))', [
    'DEF R6.0 R6.0 #0',
    'GT I.0 I.3 #5',
    'BIND R6.0 R6.0 #1',
    'BIND I.0 I.0 #0',
    'BIND R6.0 R6.0 #2',
  ]);
  assertCompiles('(def (Report.x 0))(when (|| (== Cwnd 0) (&& (< Rate 1) (> Micros 2))) (:= Report.x 1))', [
    'DEF R6.0 R6.0 #0',
    'EQUIV T.0 I.4 #0',
    'LT T.1 I.5 #1',
    'GT T.2 I.3 #2',
    'MUL T.3 T.1 T.2',
    'ADD I.0 T.0 T.3',
    'BIND R6.0 R6.0 #1',
  ]);
});

test('[D.40] a bind to a temp as condition is retargeted too (portus accepts it)', () => {
  assertCompiles('(def (Report.x 0))(when (:= (> 1 2) true) (:= Report.x 1))', [
    'DEF R6.0 R6.0 #0',
    'GT T.0 #1 #2',
    'BIND I.0 T.0 #1',
    'BIND R6.0 R6.0 #1',
  ]);
});

test('[D.41] `(report)` is `BIND I.2 ← #1`, `(fallthrough)` is `BIND I.1 ← #1`', () => {
  assertCompiles('(def (Report.x 0))(when true (report) (fallthrough))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND I.2 I.2 #1',
    'BIND I.1 I.1 #1',
  ]);
});

test('[D.41] commands are rewritten inside operator forms (their value is the implicit register)', () => {
  assertCompiles('(def (Report.x 0))(when true (:= a (report)))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'BIND I.2 I.2 #1',
    'BIND L.0 L.0 I.2',
  ]);
  assertError(
    '(def (Report.x 0))(when true (+ (fallthrough) 1))',
    1,
    33,
    /`\+` needs a number, but `\(fallthrough\)` is a boolean/,
  );
});

test('[D.42] `&&` → MUL (12), `||` → ADD (0), with a Bool temp result', () => {
  const p = assertCompiles('(def (Report (b false)))(when true (:= Report.b (&& (> 1 2) (|| true false))))', [
    'DEF R6.0 R6.0 #0',
    'BIND I.0 I.0 #1',
    'GT T.0 #1 #2',
    'ADD T.1 #1 #0',
    'MUL T.2 T.0 T.1',
    'BIND R6.0 R6.0 T.2',
  ]);
  assert.equal(p.instructions[3]!.op, 0);
  assert.equal(p.instructions[4]!.op, 12);
  // the Bool temp can be a condition, so its type is Bool
  assertCompiles('(def (Report.x 0))(when (&& true (|| false true)) (:= Report.x 1))', [
    'DEF R6.0 R6.0 #0',
    'ADD T.0 #0 #1',
    'MUL I.0 #1 T.0',
    'BIND R6.0 R6.0 #1',
  ]);
});

test('[D.43] temps: from 0 per condition and statement, in completion order, left before right', () => {
  assertCompiles(
    '(def (Report.x 0))(when (> (+ 1 2) (* 3 4)) (:= Report.x (- (/ 8 2) (max 1 (min 2 3)))) (:= Report.x (wrapped_max 1 2)))',
    [
      'DEF R6.0 R6.0 #0',
      'ADD T.0 #1 #2',
      'MUL T.1 #3 #4',
      'GT I.0 T.0 T.1',
      'DIV T.0 #8 #2',
      'MIN T.1 #2 #3',
      'MAX T.2 #1 T.1',
      'SUB T.3 T.0 T.2',
      'BIND R6.0 R6.0 T.3',
      'MAXWRAP T.0 #1 #2',
      'BIND R6.0 R6.0 T.0',
    ],
  );
});

test('[D.44] unknown names become locals at first mention, numbered program-wide', () => {
  const p = assertCompiles(
    '(def (Report.x 0))(when true (:= b 5) (:= a b))(when (> a b) (:= c a) (:= Report.x c))',
    [
      'DEF R6.0 R6.0 #0',
      'BIND I.0 I.0 #1',
      'BIND L.0 L.0 #5',
      'BIND L.1 L.1 L.0',
      'GT I.0 L.1 L.0',
      'BIND L.2 L.2 L.1',
      'BIND R6.0 R6.0 L.2',
    ],
  );
  assert.deepEqual(
    p.scope.variables.filter((v) => v.kind === 'local').map((v) => [v.name, v.regIndex, v.type]),
    [
      ['b', 0, 'num'],
      ['a', 1, 'num'],
      ['c', 2, 'num'],
    ],
  );
  // a name first mentioned in a condition is a local too (and, unbound, fails the type check)
  assertError('(def (Report.x 0))(when (> b 0) (:= b 1))', 1, 28, /`b` has no value yet/);
});

test('[D.44] a local bound to a Bool is Bool; one bound to an unbound local stays unbound', () => {
  assertError('(def (Report.x 0))(when true (:= a true) (:= Report.x (+ a 1)))', 1, 58, /`a` is a boolean/);
  assertError('(def (Report.x 0))(when true (:= a b) (:= Report.x (+ a 1)))', 1, 55, /`a` has no value yet/);
  // binding a Num to a Bool-declared variable is allowed and keeps the declared type
  assertError(
    '(def (Report (f false)))(when true (:= Report.f 5) (:= Report.f (+ Report.f 1)))',
    1,
    68,
    /`Report.f` is a boolean/,
  );
});

test('[D.45] `(:= Report.x (if c v))`, `(:= ctl (!if c v))`, `(:= Report.x (ewma w s))`: one instruction, result = target', () => {
  assertCompiles(
    '(def (Report.x 0) (ctl 0))(when true (:= Report.x (if (> Cwnd 1) Cwnd)) (:= ctl (!if (> Cwnd 1) 5)) (:= Report.x (ewma 3 Flow.rtt_sample_us)))',
    [
      'DEF R6.0 R6.0 #0',
      'DEF C0.0 C0.0 #0',
      'BIND I.0 I.0 #1',
      'GT T.0 I.4 #1',
      'IF R6.0 T.0 I.4',
      'GT T.0 I.4 #1',
      'NOTIF C0.0 T.0 #5',
      'EWMA R6.0 #3 P.13',
    ],
    evs([2, 1, 3, 5]),
  );
});

test('[D.45] if/!if/ewma operands are not type-checked', () => {
  assertCompiles(
    '(def (Report.x 0))(when true (:= Report.x (ewma true u)) (:= Report.x (if 5 Flow.was_timeout)))',
    ['DEF R6.0 R6.0 #0', 'BIND I.0 I.0 #1', 'EWMA R6.0 #1 L.0', 'IF R6.0 #5 P.14'],
  );
});

test('[D.46] if/!if/ewma bound to Cwnd, Rate, Micros, a local, or a temp is rejected', () => {
  assertError(
    '(def (Report.x 0))(when true (:= Cwnd (if true 1)))',
    1,
    34,
    /`if` can only be bound to a Report or control variable, not to `Cwnd`/,
  );
  assertError(
    '(def (Report.x 0))(when true (:= Rate (ewma 1 2)))',
    1,
    34,
    /`ewma` can only be bound .* not to `Rate`/,
  );
  assertError(
    '(def (Report.x 0))(when true (:= Micros (!if true 1)))',
    1,
    34,
    /`!if` can only be bound .* not to `Micros`/,
  );
  assertError('(def (Report.x 0))(when true (:= q (if true 1)))', 1, 34, /not to the local variable `q`/);
  assertError('(def (Report.x 0))(when true (:= (+ 1 2) (if true 1)))', 1, 34, /not to a temporary/);
  assertError(
    '(def (Report.x 0))(when true (:= Ack.now (if true 1)))',
    1,
    34,
    /`if` can only be bound .* not to `Ack.now`/,
  );
});

test('[D.46] if/!if/ewma used other than as the value of a bind is rejected', () => {
  assertError(
    '(def (Report.x 0))(when true (if true 1))',
    1,
    30,
    /the value of `\(if \.\.\.\)` must be bound/,
  );
  assertError(
    '(def (Report.x 0))(when true (:= Report.x (+ (ewma 1 2) 1)))',
    1,
    46,
    /`\+` needs a number, but `\(ewma \.\.\.\)` has no value/,
  );
  assertError(
    '(def (Report.x 0))(when true (:= Report.x (if (if true 1) 2)))',
    1,
    47,
    /`\(if \.\.\.\)` cannot be an operand of `if`/,
  );
  assertError(
    '(def (Report.x 0))(when true (:= Report.x (ewma 1 (!if true 2))))',
    1,
    51,
    /`\(!if \.\.\.\)` cannot be an operand of `ewma`/,
  );
  assertError(
    '(def (Report.x 0))(when (if true 1) (:= Report.x 1))',
    1,
    25,
    /has no value and cannot be a condition/,
  );
  assertError('(def (Report.x 0))(when true (:= (if true 1) 2))', 1, 34, /cannot assign to `\(if \.\.\.\)`/);
});

test('[D.47] binding to a primitive or a literal is rejected', () => {
  assertError(
    '(def (Report.x 0))(when true (:= Ack.bytes_acked 1))',
    1,
    34,
    /cannot assign to `Ack.bytes_acked`: primitives are read-only/,
  );
  assertError('(def (Report.x 0))(when true (:= Flow.was_timeout true))', 1, 34, /read-only/);
  assertError('(def (Report.x 0))(when true (:= 5 1))', 1, 34, /cannot assign to the literal `5`/);
  assertError('(def (Report.x 0))(when true (:= true 1))', 1, 34, /cannot assign to the literal `true`/);
  assertError(
    '(def (Report.x 0))(when true (:= +infinity 1))',
    1,
    34,
    /cannot assign to the literal `\+infinity`/,
  );
});

test('[D.47] implicit registers, locals, temps, Report and control variables are writable; a bind returns its target', () => {
  assertCompiles(
    '(def (Report.x 0) (c 0))(when true (:= Micros (:= Cwnd (:= Rate (:= c (:= Report.x (:= l (:= (+ 1 2) 3))))))))',
    [
      'DEF R6.0 R6.0 #0',
      'DEF C0.0 C0.0 #0',
      'BIND I.0 I.0 #1',
      'ADD T.0 #1 #2',
      'BIND T.0 T.0 #3',
      'BIND L.0 L.0 T.0',
      'BIND R6.0 R6.0 L.0',
      'BIND C0.0 C0.0 R6.0',
      'BIND I.5 I.5 C0.0',
      'BIND I.4 I.4 I.5',
      'BIND I.3 I.3 I.4',
    ],
  );
});

test('[D.48] event records are (start, |cond|, start+|cond|, |body|), consecutive after the DEF block; an atom body compiles to nothing', () => {
  assertCompiles(
    '(def (Report.x 0) (y 1))(when (&& (> 1 2) (< 3 4)) (:= Report.x 1) (:= y 2))(when true 5 Report.x)(when false (:= y (+ y 1)))',
    [
      'DEF R6.0 R6.0 #0',
      'DEF C0.0 C0.0 #1',
      'GT T.0 #1 #2',
      'LT T.1 #3 #4',
      'MUL I.0 T.0 T.1',
      'BIND R6.0 R6.0 #1',
      'BIND C0.0 C0.0 #2',
      'BIND I.0 I.0 #1',
      'BIND I.0 I.0 #0',
      'ADD T.0 C0.0 #1',
      'BIND C0.0 C0.0 T.0',
    ],
    evs([2, 3, 5, 2], [7, 1, 8, 0], [8, 1, 9, 2]),
  );
});

test('[D.51] more than 16 Report variables is a compile error; 16 compile', () => {
  const decl = (n: number, p: string) => Array.from({ length: n }, (_, i) => `(${p}${i} 0)`).join(' ');
  assert.equal(compile(`(def (Report ${decl(16, 'r')}))(when true (report))`).scope.reportFields.length, 16);
  const src = `(def (Report ${decl(17, 'r')}))(when true (report))`;
  assertError(src, 1, src.indexOf('r16') + 1, /too many Report variables: at most 16/);
});

test('[D.51] more than 16 control variables is a compile error; 16 compile', () => {
  const decl = (n: number) =>
    Array.from({ length: n }, (_, i) => `(c${String(i).padStart(2, '0')} 0)`).join(' ');
  assert.equal(compile(`(def ${decl(16)})(when true (:= c00 1))`).scope.variables.length, 16);
  assertError(
    `(def ${decl(17)})(when true (:= c00 1))`,
    1,
    6 + 16 * 8 + 1,
    /too many control variables: at most 16/,
  );
});

test('[D.51] more than 6 locals in instructions is a compile error; unused extra locals are fine (portus)', () => {
  const binds = (n: number) => Array.from({ length: n }, (_, i) => `(:= l${i} ${i})`).join(' ');
  const six = compile(`(def (Report.x 0))(when true ${binds(6)})`);
  assert.equal(six.scope.variables.filter((v) => v.kind === 'local').length, 6);
  const src = `(def (Report.x 0))\n(when true ${binds(7)})`;
  assertError(
    src,
    2,
    src.indexOf('l6') - src.indexOf('\n'),
    /too many local variables: `l6` would be local 7, the limit is 6/,
  );
  // seven locals mentioned only as bare statements emit no instruction, so portus serializes them never
  assert.equal(compile('(def (Report.x 0))(when true a b c d e f g (:= Report.x 1))').instructions.length, 3);
});

test('[D.51] a temp index ≥ 8 in one statement is a compile error; 8 temps compile', () => {
  const nest = (n: number): string => (n === 1 ? '(+ 1 1)' : `(+ 1 ${nest(n - 1)})`);
  const p = compile(`(def (Report.x 0))(when true (:= Report.x ${nest(8)}))`);
  assert.equal(Math.max(...p.instructions.filter((i) => i.result.type === 7).map((i) => i.result.index)), 7);
  assertError(
    `(def (Report.x 0))(when true (:= Report.x ${nest(9)}))`,
    1,
    43,
    /too many temporaries in one statement: libccp has 8 temp registers/,
  );
  assertError(
    `(def (Report.x 0))(when (> 1 ${nest(8)}) (:= Report.x 1))`,
    1,
    25,
    /too many temporaries in one condition/,
  );
});

test('[D.52] a program of more than 255 instructions is a compile error; 255 compile', () => {
  // DEF + cond (1) + n binds
  const prog = (n: number) => `(def (Report.x 0))\n(when true\n${'(:= Report.x 1)\n'.repeat(n)})`;
  assert.equal(compile(prog(253)).instructions.length, 255);
  assertError(prog(254), 256, 1, /program too long: more than 255 instructions/);
});

test('[D.53] a non-literal initialiser and duplicate declarations are compile errors', () => {
  assertError(
    '(def (Report.x y))(when true (report))',
    1,
    16,
    /must be a number, \+infinity, true or false, not the name `y`/,
  );
  assertError('(def (a 0) (Report.x 0) (a 1))(when true (report))', 1, 26, /`a` is declared twice/);
  assertError('(def (Report (x 0)) (Report.x 1))(when true (report))', 1, 22, /`Report.x` is declared twice/);
  assertError(
    '(def (Report (x 0) (volatile x 1)))(when true (report))',
    1,
    30,
    /`Report.x` is declared twice/,
  );
});

test('[§4.4] a declaration shadowing a built-in is rejected', () => {
  for (const name of ['Cwnd', 'Rate', 'Micros', 'Ack.now', 'Flow.rtt_sample_us']) {
    assertError(
      `(def (${name} 0))(when true (:= ${name} 1))`,
      1,
      7,
      new RegExp(`\`${name.replace('.', '\\.')}\` is a built-in name`),
    );
  }
  // names that only look like built-ins are fine
  assert.equal(compile('(def (cwnd 0) (Report (Cwnd 0)))(when true (:= cwnd Cwnd))').instructions.length, 4);
});

test('[§9.4] warnings: `(report)` without Report variables; DEF default 0x3FFFFFFF', () => {
  const a = compile('(def (c 0))\n(when true (report))');
  assert.deepEqual(a.warnings, [
    '2:12: `(report)` in a program without Report variables: its reports carry no fields, which the agent reads as a flow close',
  ]);
  const b = compile('(def (Report.x 1073741823))(when true (report))');
  assert.equal(b.warnings.length, 1);
  assert.match(
    b.warnings[0]!,
    /^1:16: initial value 1073741823 \(0x3FFFFFFF\) of `Report.x`: libccp stores 4294967295/,
  );
  assert.deepEqual(compile('(def (Report.x 1073741822))(when true (report))').warnings, []);
});
