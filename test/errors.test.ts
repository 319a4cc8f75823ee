import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompileError } from '../src/errors.ts';

test('CompileError formats a caret excerpt', () => {
  const e = new CompileError('unknown operator', '(def)\n(when (>= a b))', {
    line: 2,
    column: 7,
    offset: 12,
  });
  assert.equal(e.format('x.ccp'), 'x.ccp:2:7: error: unknown operator\n  (when (>= a b))\n        ^');
});
