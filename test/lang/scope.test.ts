// The Scope the agent uses: checklist section E (items 54–59) as far as the compiler is concerned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/index.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { encodeChangeProg, encodeUpdateFields } from '../../src/wire/index.ts';

const SRC = `(def
  (Report (volatile acked 0) (minrtt +infinity))
  (target 20000)
  (volatile hits 0)
  (Report.extra 0)
)
(when true
  (:= inc (+ Ack.bytes_acked 1))
  (:= Report.acked (+ Report.acked inc))
  (fallthrough)
)
(when (> Micros 1000) (report) (:= Micros 0))
`;

function refusal(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PortusError);
    assert.equal(e.code, ErrorCodes.UPDATE_FIELD);
    assert.match(e.message, reason);
    return true;
  });
}

test('[E.54] each compiled program carries the uid it was compiled with; programs compiled with different uids do not share one', () => {
  const uids = [1, 2, 3].map((uid) => compile(SRC, { uid }));
  assert.deepEqual(
    uids.map((p) => [p.uid, p.scope.uid]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
    ],
  );
  assert.throws(() => compile(SRC, { uid: 0 }), { code: ErrorCodes.USAGE });
  assert.throws(() => compile(SRC, { uid: 2 ** 32 }), { code: ErrorCodes.USAGE });
  assert.throws(() => compile(SRC, { uid: 1.5 }), { code: ErrorCodes.USAGE });
});

test('[E.56] reportIndex: the register index of a Report variable, by `x` or `Report.x`; -1 otherwise', () => {
  const s = compile(SRC).scope;
  assert.deepEqual(s.reportFields, ['Report.acked', 'Report.minrtt', 'Report.extra']);
  assert.equal(s.reportIndex('Report.acked'), 0);
  assert.equal(s.reportIndex('acked'), 0);
  assert.equal(s.reportIndex('Report.minrtt'), 1);
  assert.equal(s.reportIndex('minrtt'), 1);
  assert.equal(s.reportIndex('Report.extra'), 2);
  assert.equal(s.reportIndex('extra'), 2);
  for (const n of [
    'target',
    'hits',
    'inc',
    'Micros',
    'Cwnd',
    'Ack.bytes_acked',
    'nothing',
    'Report.nothing',
    '',
  ]) {
    assert.equal(s.reportIndex(n), -1, n);
  }
});

test('[E.57] updates: non-volatile control (0, i), volatile control (8, i), Cwnd (2, 4), Rate (2, 5)', () => {
  const s = compile(SRC).scope;
  assert.deepEqual(s.resolveUpdate('target'), { regType: 0, regIndex: 0 });
  assert.deepEqual(s.resolveUpdate('hits'), { regType: 8, regIndex: 1 });
  assert.deepEqual(s.resolveUpdate('Cwnd'), { regType: 2, regIndex: 4 });
  assert.deepEqual(s.resolveUpdate('Rate'), { regType: 2, regIndex: 5 });
  // resolved records encode as the spec's 13-byte update records
  const t = s.resolveUpdate('target');
  const buf = encodeUpdateFields(1, [{ ...t, value: 15000n }]);
  assert.equal(buf.subarray(12).toString('hex'), '0000000000983a000000000000');
});

test('[E.58] updating a Report variable, Micros, a primitive, a local, an unknown or a `__` name fails', () => {
  const s = compile(SRC).scope;
  refusal(
    () => s.resolveUpdate('Report.acked'),
    /cannot update field `Report.acked`: it is a Report variable/,
  );
  refusal(() => s.resolveUpdate('Micros'), /cannot update field `Micros`/);
  refusal(
    () => s.resolveUpdate('Ack.bytes_acked'),
    /cannot update field `Ack.bytes_acked`: it is a read-only primitive/,
  );
  refusal(() => s.resolveUpdate('Flow.was_timeout'), /cannot update field/);
  refusal(() => s.resolveUpdate('inc'), /cannot update field `inc`: it is a local variable/);
  refusal(() => s.resolveUpdate('nothing'), /unknown field `nothing`/);
  refusal(() => s.resolveUpdate('acked'), /unknown field `acked`/);
  refusal(() => s.resolveUpdate('__shouldReport'), /reserved field `__shouldReport`/);
  refusal(() => s.resolveUpdate('__anything'), /reserved field/);
});

test('[E.59] CHANGE_PROG names resolve against the Scope of the target program', () => {
  const a = compile('(def (x 0) (y 0))(when true (:= x 1))', { uid: 1 });
  const b = compile('(def (y 0) (volatile x 0))(when true (:= x 1))', { uid: 2 });
  assert.deepEqual(a.scope.resolveUpdate('x'), { regType: 0, regIndex: 0 });
  assert.deepEqual(b.scope.resolveUpdate('x'), { regType: 8, regIndex: 1 });
  const msg = encodeChangeProg(1, b.uid, [{ ...b.scope.resolveUpdate('x'), value: 7n }]);
  assert.equal(msg.subarray(16).toString('hex'), '0801000000' + '0700000000000000');
  refusal(() => b.scope.resolveUpdate('z'), /unknown field `z` \(program uid 2\)/);
});

test('Scope.variables lists declared variables and locals with their registers and types', () => {
  const s = compile(SRC).scope;
  assert.deepEqual(
    s.variables.map((v) => [v.name, v.kind, v.regType, v.regIndex, v.volatile, v.type]),
    [
      ['Report.acked', 'report', 5, 0, true, 'num'],
      ['Report.minrtt', 'report', 6, 1, false, 'num'],
      ['Report.extra', 'report', 6, 2, false, 'num'],
      ['target', 'control', 0, 0, false, 'num'],
      ['hits', 'control', 8, 1, true, 'num'],
      ['inc', 'local', 3, 0, false, 'num'],
    ],
  );
  assert.ok(Object.isFrozen(s.reportFields));
});
