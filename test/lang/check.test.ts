// checkProgram: every error of a program, recovering at the next top-level form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkProgram, topLevelForms } from '../../src/lang/index.ts';

const GOOD = '(def (Report (volatile acked 0)))\n(when true (:= Report.acked Ack.bytes_acked) (report))\n';

test('a good program compiles with no errors', () => {
  const r = checkProgram(GOOD);
  assert.equal(r.errors.length, 0);
  assert.ok(r.program !== null && r.program.instructions.length > 0);
});

test('errors in several when clauses are all reported, positioned in the original source', () => {
  const src =
    '(def (a 0))\n(when (> a 1 2) (report))\n# (when\n(when true (:= a (+ a)))\n(when true (:= Cwnd 1)';
  const r = checkProgram(src);
  assert.equal(r.program, null);
  assert.deepEqual(
    r.errors.map((e) => `${e.line}:${e.column}`),
    ['2:14', '4:22', '5:1'],
  );
  assert.ok(r.errors.every((e) => e.source === src)); // excerpts come from what the user wrote
});

test('an error inside (def ...) ends the search (every clause depends on it)', () => {
  const r = checkProgram('(def (Report (volatile 0)))\n(when (> 1 2 3) (report))\n');
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.line, 1);
});

test('stray text between forms is skipped', () => {
  const r = checkProgram('(def (a 0))\nfoo\n(when (> a 1 2) (report))\n(when true (:= a 1))\n');
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [2, 3],
  );
});

test('topLevelForms skips comments and closes an unclosed form at the end', () => {
  assert.deepEqual(topLevelForms('(a) # (b\n(c (d)) (e'), [
    { start: 0, end: 3 },
    { start: 9, end: 16 },
    { start: 17, end: 19 },
  ]);
});
