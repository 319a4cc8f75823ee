// Spec worked examples (language.md §13; wire-protocol.md §12.6): instructions, event tables and
// INSTALL_EXPR bytes, exactly. Checklist items 7 and 49.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/index.ts';
import { encodeInstall } from '../../src/wire/index.ts';
import { assertCompiles, evs } from './helpers.ts';

import { EXAMPLE_A, EXAMPLE_B, EXAMPLE_C } from './fixtures.ts';
import { INSTALL_12_6, INSTALL_A, INSTALL_B, INSTALL_C, hex, toHex } from '../fixtures/spec-vectors.ts';

const HEX_A = toHex(hex(INSTALL_A));
const HEX_B = toHex(hex(INSTALL_B));
const HEX_C = toHex(hex(INSTALL_C));

test('[D.49] example A (§13.1): instructions and event table', () => {
  const p = assertCompiles(
    EXAMPLE_A,
    [
      'DEF R5.1 R5.1 #0',
      'DEF R6.2 R6.2 #4294967295',
      'DEF R5.0 R5.0 #0',
      'BIND I.0 I.0 #1',
      'ADD T.0 R5.1 P.0',
      'BIND R5.1 R5.1 T.0',
      'BIND R5.0 R5.0 P.13',
      'MIN T.0 R6.2 P.13',
      'BIND R6.2 R6.2 T.0',
      'BIND I.1 I.1 #1',
      'GT I.0 I.3 R6.2',
      'BIND I.2 I.2 #1',
      'BIND I.3 I.3 #0',
    ],
    evs([3, 1, 4, 6], [10, 1, 11, 2]),
  );
  assert.deepEqual(p.scope.reportFields, ['Report.rtt', 'Report.acked', 'Report.minrtt']);
  assert.deepEqual(p.warnings, []);
});

test('[D.49] example A: INSTALL_EXPR bytes with uid 1 (260 bytes)', () => {
  const p = compile(EXAMPLE_A, { uid: 1 });
  const buf = encodeInstall(p.uid, p.events, p.instructions);
  assert.equal(buf.length, 260);
  assert.equal(buf.toString('hex'), HEX_A);
});

test('[D.49] example B (§13.2): instructions and event table', () => {
  const p = assertCompiles(
    EXAMPLE_B,
    [
      'DEF R6.1 R6.1 #0',
      'DEF R5.0 R5.0 #0',
      'DEF C8.1 C8.1 #0',
      'DEF C0.0 C0.0 #20000',
      'BIND I.0 I.0 #1',
      'EWMA R5.0 #8 P.13',
      'MUL T.0 P.0 #1448',
      'DIV T.1 T.0 I.4',
      'BIND L.0 L.0 T.1',
      'ADD T.0 I.4 L.0',
      'MIN T.1 T.0 C0.0',
      'BIND I.4 I.4 T.1',
      'GT T.0 P.13 #5000',
      'ADD T.1 C8.1 #1',
      'IF C8.1 T.0 T.1',
      'BIND R6.1 R6.1 I.4',
      'BIND I.1 I.1 #1',
      'GT I.0 I.3 #100000',
      'BIND I.2 I.2 #1',
      'BIND I.3 I.3 #0',
    ],
    evs([4, 1, 5, 12], [17, 1, 18, 2]),
  );
  assert.deepEqual(p.scope.reportFields, ['Report.srtt', 'Report.cwnd']);
});

test('[D.49] example B: INSTALL_EXPR bytes with uid 2 (372 bytes)', () => {
  const p = compile(EXAMPLE_B, { uid: 2 });
  const buf = encodeInstall(p.uid, p.events, p.instructions);
  assert.equal(buf.length, 372);
  assert.equal(buf.toString('hex'), HEX_B);
});

test('[D.49] example C (§13.3): instructions and event table', () => {
  assertCompiles(
    EXAMPLE_C,
    [
      'DEF R5.1 R5.1 #0',
      'DEF R5.0 R5.0 #0',
      'DEF C8.0 C8.0 #0',
      'MUL I.0 P.14 #1',
      'BIND R5.0 R5.0 #1',
      'BIND I.2 I.2 #1',
      'BIND I.0 I.0 #1',
      'ADD T.0 R5.1 #1',
      'BIND R5.1 R5.1 T.0',
      'EQUIV T.0 P.6 #0',
      'NOTIF C8.0 T.0 P.5',
      'BIND I.1 I.1 #1',
      'GT T.0 R5.1 #9',
      'LT T.1 P.13 #100',
      'ADD I.0 T.0 T.1',
      'BIND I.2 I.2 #1',
    ],
    evs([3, 1, 4, 2], [6, 1, 7, 5], [12, 3, 15, 1]),
  );
});

test('[D.49] example C: INSTALL_EXPR bytes with uid 3 (324 bytes)', () => {
  const p = compile(EXAMPLE_C, { uid: 3 });
  const buf = encodeInstall(p.uid, p.events, p.instructions);
  assert.equal(buf.length, 324);
  assert.equal(buf.toString('hex'), HEX_C);
});

test('[A.7] portus install.rs vector (wire-protocol §12.6): uid 7, SocketId 1, 84 bytes', () => {
  const p = compile('(def (Report (volatile foo 0)))\n(when true\n    (bind Report.foo 4)\n)\n', { uid: 7 });
  const buf = encodeInstall(p.uid, p.events, p.instructions, 1);
  assert.equal(buf.toString('hex'), toHex(hex(INSTALL_12_6)));
});

test("[E.54] the uid is the caller's choice and does not change the code", () => {
  const a = compile(EXAMPLE_A, { uid: 1 });
  const b = compile(EXAMPLE_A, { uid: 9 });
  assert.equal(a.uid, 1);
  assert.equal(b.uid, 9);
  assert.equal(b.scope.uid, 9);
  assert.deepEqual(a.instructions, b.instructions);
  assert.equal(compile(EXAMPLE_A).uid, 1, 'default uid 1');
});
