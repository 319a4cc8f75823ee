// Checklist item 50: the programs of portus' own unit tests (`src/lang/datapath.rs`), with the
// instruction lists and events those tests expect, translated to wire registers: a top-level
// `Report.foo` is a non-volatile report (R6), `Control.*` a non-volatile control (C0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/index.ts';
import { assertCompiles, evs } from './helpers.ts';

test('[D.50] portus `reg`', () => {
  assertCompiles(
    '\n        (def (Report.foo 0))\n        (when true\n            (bind Report.foo 4)\n        )\n        ',
    ['DEF R6.0 R6.0 #0', 'BIND I.0 I.0 #1', 'BIND R6.0 R6.0 #4'],
    evs([1, 1, 2, 1]),
  );
});

test('[D.50] portus `underscored_var`: Report.foo_bar compiles like Report.foo', () => {
  const a = compile('(def (Report.foo 0))\n(when true\n (bind Report.foo 4)\n)');
  const b = compile('(def (Report.foo_bar 0))\n(when true\n (bind Report.foo_bar 4)\n)');
  assert.deepEqual(a.instructions, b.instructions);
  assert.deepEqual(a.events, b.events);
});

test('[D.50] portus `ewma`', () => {
  assertCompiles(
    '(def (Report.foo 0))\n(when true\n    (bind Report.foo (ewma 2 Flow.rate_outgoing))\n)',
    ['DEF R6.0 R6.0 #0', 'BIND I.0 I.0 #1', 'EWMA R6.0 #2 P.12'],
    evs([1, 1, 2, 1]),
  );
});

test('[D.50] portus `infinity_if`', () => {
  assertCompiles(
    '(def (Report.foo +infinity))\n(when true\n    (bind Report.foo (if (< Flow.rtt_sample_us Report.foo) Flow.rtt_sample_us))\n)',
    ['DEF R6.0 R6.0 #4294967295', 'BIND I.0 I.0 #1', 'LT T.0 P.13 R6.0', 'IF R6.0 T.0 P.13'],
    evs([1, 1, 2, 2]),
  );
});

test('[D.50] portus `control_def`', () => {
  assertCompiles(
    '(def (Control.foo +infinity))\n(when (< Flow.rtt_sample_us Control.foo)\n    (bind Control.foo Flow.rtt_sample_us)\n    (report)\n)',
    ['DEF C0.0 C0.0 #4294967295', 'LT I.0 P.13 C0.0', 'BIND C0.0 C0.0 P.13', 'BIND I.2 I.2 #1'],
    evs([1, 1, 2, 2]),
  );
});

test('[D.50] `control_if_definition`: an `if` bound to a control variable is retargeted to it (§8.5 step 2)', () => {
  assertCompiles(
    '(def (Control.foo +infinity))\n(when true\n    (bind Control.foo (if (< Flow.rtt_sample_us Control.foo) Flow.rtt_sample_us))\n)',
    ['DEF C0.0 C0.0 #4294967295', 'BIND I.0 I.0 #1', 'LT T.0 P.13 C0.0', 'IF C0.0 T.0 P.13'],
    evs([1, 1, 2, 2]),
  );
});

test('[D.50] portus `intermediate`: a local', () => {
  assertCompiles(
    '(def (Report.foo 0))\n(when true\n    (bind bar 3)\n    (bind Report.foo (+ 2 bar))\n)',
    ['DEF R6.0 R6.0 #0', 'BIND I.0 I.0 #1', 'BIND L.0 L.0 #3', 'ADD T.0 #2 L.0', 'BIND R6.0 R6.0 T.0'],
    evs([1, 1, 2, 3]),
  );
});

test('[D.50] portus `prog_reset_tmps`: temps restart per condition and statement', () => {
  assertCompiles(
    '(def (Report.foo 0))\n(when (> (+ 1 2) 3)\n    (bind Report.foo (+ (+ 1 2) 3))\n    (bind Report.foo (+ (+ 4 5) 6))\n)',
    [
      'DEF R6.0 R6.0 #0',
      'ADD T.0 #1 #2',
      'GT I.0 T.0 #3',
      'ADD T.0 #1 #2',
      'ADD T.1 T.0 #3',
      'BIND R6.0 R6.0 T.1',
      'ADD T.0 #4 #5',
      'ADD T.1 T.0 #6',
      'BIND R6.0 R6.0 T.1',
    ],
    evs([1, 2, 3, 6]),
  );
});

test('[D.50] portus `bool_ops`', () => {
  assertCompiles(
    ' \n\t\t(def (Report.acked 0) (Control.state 0))\n\t\t(when true\n\t\t\t(:= Report.acked (+ Report.acked Ack.bytes_acked))\n\t\t\t(fallthrough)\n\t\t)\n\t\t(when (&& (> Micros 3000000) (== Control.state 0))\n\t\t\t(:= Control.state 1)\n\t\t\t(report)\n\t\t)\n\t\t',
    [
      'DEF C0.0 C0.0 #0',
      'DEF R6.0 R6.0 #0',
      'BIND I.0 I.0 #1',
      'ADD T.0 R6.0 P.0',
      'BIND R6.0 R6.0 T.0',
      'BIND I.1 I.1 #1',
      'GT T.0 I.3 #3000000',
      'EQUIV T.1 C0.0 #0',
      'MUL I.0 T.0 T.1',
      'BIND C0.0 C0.0 #1',
      'BIND I.2 I.2 #1',
    ],
    evs([2, 1, 3, 3], [6, 3, 9, 2]),
  );
});

test('[D.50] portus `multiple_events`', () => {
  assertCompiles(
    '(def (Report.foo 0))\n(when true\n    (bind Report.foo 4)\n)\n(when (> 2 3)\n    (bind Report.foo 5)\n)',
    ['DEF R6.0 R6.0 #0', 'BIND I.0 I.0 #1', 'BIND R6.0 R6.0 #4', 'GT I.0 #2 #3', 'BIND R6.0 R6.0 #5'],
    evs([1, 1, 2, 1], [3, 1, 4, 1]),
  );
});

test('[D.50] portus `commands`', () => {
  assertCompiles(
    '(def (Report.foo 0))\n(when true\n    (bind Report.foo 4)\n    (fallthrough)\n)\n(when (> Micros 3000)\n    (bind Report.foo 5)\n    (report)\n    (:= Micros 0)\n)',
    [
      'DEF R6.0 R6.0 #0',
      'BIND I.0 I.0 #1',
      'BIND R6.0 R6.0 #4',
      'BIND I.1 I.1 #1',
      'GT I.0 I.3 #3000',
      'BIND R6.0 R6.0 #5',
      'BIND I.2 I.2 #1',
      'BIND I.3 I.3 #0',
    ],
    evs([1, 1, 2, 2], [4, 1, 5, 3]),
  );
});

test('[D.50] portus `primitives`: built-in registers', () => {
  const p = compile('(def (Report (foo 0)))\n(when true\n (bind Report.foo 4)\n)');
  const names = [
    'Ack.bytes_acked',
    'Ack.bytes_misordered',
    'Ack.ecn_bytes',
    'Ack.ecn_packets',
    'Ack.lost_pkts_sample',
    'Ack.now',
    'Ack.packets_acked',
    'Ack.packets_misordered',
    'Flow.bytes_in_flight',
    'Flow.bytes_pending',
    'Flow.packets_in_flight',
    'Flow.rate_incoming',
    'Flow.rate_outgoing',
    'Flow.rtt_sample_us',
    'Flow.was_timeout',
  ];
  names.forEach((n, i) => {
    const q = compile(`(def (Report.x 0))\n(when true\n (:= Report.x ${n})\n)`);
    assert.deepEqual(q.instructions[2]!.right, { type: 4, index: i }, n);
  });
  ['Micros', 'Cwnd', 'Rate'].forEach((n, i) => {
    const q = compile(`(def (Report.x 0))\n(when true\n (:= ${n} Report.x)\n)`);
    assert.deepEqual(q.instructions[2]!.result, { type: 2, index: 3 + i }, n);
  });
  assert.deepEqual(p.scope.reportFields, ['Report.foo']);
});
