// Error reporting: every kind of compile error carries a reason, a line and column pointing at the
// offending token, and formats as `file:line:col: error: reason` with a caret excerpt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompileError, ErrorCodes } from '../../src/errors.ts';
import { compile, parse } from '../../src/lang/index.ts';
import { assertError } from './helpers.ts';

test('CompileError.format: file, line, column, reason, source line and caret', () => {
  const src =
    '(def (Report (volatile acked 0)))\n(when true\n    (:= Report.acked (+ Report.acked Flow.was_timeout))\n)\n';
  let err: CompileError | undefined;
  try {
    compile(src);
  } catch (e) {
    err = e as CompileError;
  }
  assert.ok(err instanceof CompileError);
  assert.equal(err.code, ErrorCodes.COMPILE);
  assert.equal(err.message, '3:38: `+` needs a number, but `Flow.was_timeout` is a boolean');
  assert.equal(
    err.format('aimd.ccp'),
    [
      'aimd.ccp:3:38: error: `+` needs a number, but `Flow.was_timeout` is a boolean',
      '      (:= Report.acked (+ Report.acked Flow.was_timeout))',
      '                                       ^',
    ].join('\n'),
  );
  assert.equal(err.offset, src.indexOf('Flow.was_timeout'));
});

test('positions count lines by LF; CR and tabs are ordinary columns', () => {
  assertError('(def (Report.x 0))\r\n(when true\r\n\t(:= Ack.now 1))\r\n', 3, 6, /primitives are read-only/);
});

// One row per error kind: [what, source, line, column, reason].
const CATALOGUE: [string, string, number, number, RegExp][] = [
  ['syntax: missing (def', '(when true (report))', 1, 2, /starts with `\(def`/],
  [
    'syntax: unexpected character',
    '(def (Report.x 0))\n(when true (:= Report.x [1]))',
    2,
    25,
    /unexpected `\[1\]`: expected the second operand of `:=`/,
  ],
  ['syntax: unclosed form', '(def (Report.x 0))\n(when true\n  (:= Report.x (+ 1 2)', 3, 3, /missing `\)`/],
  ['syntax: trailing text', '(def (Report.x 0))\n(when true (report))\nfoo', 3, 1, /found `foo`/],
  ['syntax: empty when body', '(def (Report.x 0))\n(when true\n)', 2, 2, /at least one statement/],
  ['unknown operator', '(def (Report.x 0))\n(when true\n  (pow 2 3))', 3, 4, /unknown operator `pow`/],
  [
    'wrong arity: too few',
    '(def (Report.x 0))\n(when true\n  (:= Report.x))',
    3,
    15,
    /needs exactly 2 operands, found 1/,
  ],
  [
    'wrong arity: too many',
    '(def (Report.x 0))\n(when true\n  (min 1 2 3))',
    3,
    12,
    /takes exactly 2 operands/,
  ],
  [
    'type error: Num expected',
    '(def (Report.x 0))\n(when true\n  (:= Report.x (* 2 true)))',
    3,
    21,
    /`\*` needs a number, but `true` is a boolean/,
  ],
  [
    'type error: Bool expected',
    '(def (Report.x 0))\n(when (|| (> 1 2) Cwnd)\n  (report))',
    2,
    19,
    /`\|\|` needs a boolean, but `Cwnd` is a number/,
  ],
  [
    'type error: unbound local',
    '(def (Report.x 0))\n(when true\n  (:= Report.x (+ Report.x ackd)))',
    3,
    28,
    /`ackd` has no value yet/,
  ],
  [
    'bind to read-only',
    '(def (Report.x 0))\n(when true\n  (:= Flow.rtt_sample_us 0))',
    3,
    7,
    /primitives are read-only/,
  ],
  [
    'bind to literal',
    '(def (Report.x 0))\n(when true\n  (:= 0 Report.x))',
    3,
    7,
    /cannot assign to the literal `0`/,
  ],
  ['reserved name', '(def (Report.x 0))\n(when true\n  (:= Report.x __x))', 3, 16, /reserved/],
  [
    'limit: immediate',
    '(def (Report.x 0))\n(when true\n  (:= Report.x 4294967295))',
    3,
    16,
    /number too large/,
  ],
  [
    'non-literal init',
    '(def (Report.x 0)\n  (y Report.x))\n(when true (report))',
    2,
    6,
    /not the name `Report.x`/,
  ],
  ['duplicate', '(def (Report.x 0)\n  (Report.x 0))\n(when true (report))', 2, 4, /declared twice/],
  ['shadowing a built-in', '(def (Report.x 0)\n  (Micros 0))\n(when true (report))', 2, 4, /built-in name/],
  [
    'Report var as condition',
    '(def (Report.x 0))\n(when Report.x\n  (report))',
    2,
    7,
    /cannot be used directly as a condition/,
  ],
  [
    'command as condition',
    '(def (Report.x 0))\n(when (fallthrough)\n  (report))',
    2,
    7,
    /cannot be a condition/,
  ],
  [
    'if bound to Cwnd',
    '(def (Report.x 0))\n(when true\n  (:= Cwnd (if (> Cwnd 5) 5)))',
    3,
    7,
    /not to `Cwnd`/,
  ],
  [
    'ewma bound to a local',
    '(def (Report.x 0))\n(when true\n  (:= s (ewma 2 Cwnd)))',
    3,
    7,
    /not to the local variable `s`/,
  ],
  ['reset', '(def (Report.x 0))\n(when true\n  (reset))', 3, 4, /`\(reset\)` is not part of the language/],
];

for (const [what, src, line, column, reason] of CATALOGUE) {
  test(`error: ${what} at ${line}:${column}`, () => {
    const err = assertError(src, line, column, reason);
    const formatted = err.format('p.ccp').split('\n');
    assert.equal(formatted[0], `p.ccp:${line}:${column}: error: ${err.reason}`);
    assert.equal(formatted[1], '  ' + (src.split('\n')[line - 1] ?? ''));
    assert.equal(formatted[2], '  ' + ' '.repeat(column - 1) + '^');
  });
}

test('parse() reports syntax errors but leaves names and types to compile()', () => {
  const ast = parse('(def (Report.x 0))(when true (:= Ack.now (+ true 1)))');
  assert.equal(ast.clauses.length, 1);
  assert.throws(() => parse('(def (Report.x 0))(when true (+ 1))'), CompileError);
});

test('a program that does not compile is never serialized: compile throws before producing anything', () => {
  let produced: unknown = 'nothing';
  try {
    produced = compile('(def (Report.x 0))(when true (:= Report.x 2147483648))');
  } catch {
    // expected
  }
  assert.equal(produced, 'nothing');
});
