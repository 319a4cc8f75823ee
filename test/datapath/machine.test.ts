// Datapath-machine behaviour beyond the checklist items: program-table details of
// datapath-machine.md §7.1, register-file aliasing (§5.1/§5.2), the clocks, and the rejections of
// inputs that libccp would mis-handle (each citing the spec's note).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Libccp } from '../../src/datapath/index.ts';
import {
  O,
  R,
  REPORT,
  TRUE,
  bind,
  changeProg,
  def,
  harness,
  install,
  ins,
  measure,
  program,
  updateFields,
} from './harness.ts';

const TWO64 = 1n << 64n;

function setup(prog: Buffer) {
  const h = harness();
  assert.equal(h.dp.init(), 0);
  const code = h.dp.receive(prog);
  const c = h.start();
  return { h, c, code };
}

test('[§7.1] a decode error leaves a partial program under that uid; CHANGE_PROG selects it and its prefix runs', () => {
  // body: C0 <- 5, then an instruction with opcode 15 (not decoded: slot memory stays a zero
  // instruction, ADD C0 <- C0 + C0)
  const msg = program(5, [], [{ cond: [TRUE], body: [bind(R.C, 0, R.IMM, 5), [15, 0, 0, 0, 0, 0, 0]] }]);
  const { h, c, code } = setup(msg);
  assert.equal(code, Libccp.READ_INVALID_OP);
  assert.deepEqual(
    h.dp.programs().map((p) => p.uid),
    [5],
  );
  assert.equal(h.dp.receive(changeProg(c.sid, 5)), 0);
  assert.equal(h.ack(c), 0);
  assert.equal(h.dp.registers(c).control[0], 10n);
});

test('[§7.1] instruction decode errors -34 (result IMMEDIATE/PRIMITIVE), -35/-36/-37 (register type > 8)', () => {
  const cases: Array<[number[], number]> = [
    [[O.BIND, R.IMM, 0, R.C, 0, R.IMM, 1], -34],
    [[O.BIND, R.P, 0, R.C, 0, R.IMM, 1], -34],
    [[O.BIND, 9, 0, R.C, 0, R.IMM, 1], -35],
    [[O.BIND, R.C, 0, 9, 0, R.IMM, 1], -36],
    [[O.BIND, R.C, 0, R.C, 0, 9, 1], -37],
  ];
  for (const [instr, code] of cases) {
    const h = harness();
    h.dp.init();
    assert.equal(h.dp.receive(install(1, [[0, 1, 1, 0]], [TRUE, instr as never])), code);
    assert.equal(h.dp.programs().length, 1, 'slot stays occupied');
  }
});

test('[§7.1] duplicates are allowed; lookups by uid find the lowest slot', () => {
  const { h, c } = setup(program(4, [], [{ cond: [TRUE], body: [bind(R.C, 0, R.IMM, 1)] }]));
  h.dp.receive(program(4, [], [{ cond: [TRUE], body: [bind(R.C, 0, R.IMM, 2)] }]));
  assert.deepEqual(
    h.dp.programs().map((p) => [p.index, p.uid]),
    [
      [1, 4],
      [2, 4],
    ],
  );
  h.dp.receive(changeProg(c.sid, 4));
  h.ack(c);
  assert.equal(h.dp.registers(c).control[0], 1n);
});

test('[wire §9] install limits libccp never checks are enforced: > 256 expressions (-42), > 256 instructions (-43)', () => {
  const h = harness();
  h.dp.init();
  const many = install(2, [], [TRUE], { numInstr: 257 });
  assert.equal(h.dp.receive(many), Libccp.INSTALL_TOO_MANY_INSTR);
  const exprs = install(2, [], [TRUE], { numExpr: 257 });
  assert.equal(h.dp.receive(exprs), Libccp.INSTALL_TOO_MANY_EXPR);
  assert.ok(h.logs.filter(([l, m]) => l === 'error' && /overflow libccp/.test(m)).length === 2);
  const allDefs = install(
    2,
    [],
    Array.from({ length: 256 }, () => def(R.C, 0, 1)),
  );
  assert.equal(
    h.dp.receive(allDefs),
    Libccp.INSTALL_TOO_MANY_INSTR,
    '256 DEFs would hang the 8-bit DEF scan',
  );
  const tooManyReports = install(
    2,
    [],
    Array.from({ length: 111 }, (_, i) => def(R.RN, i, 0)).concat([TRUE]),
  );
  assert.equal(h.dp.receive(tooManyReports), Libccp.INSTALL_TOO_MANY_INSTR, '> 110 report variables');
  const truncated = program(2, [], [{ cond: [TRUE], body: [REPORT] }]).subarray(0, 60);
  truncated.writeUInt16LE(60, 2);
  assert.equal(
    h.dp.receive(truncated),
    Libccp.BUFSIZE_TOO_SMALL,
    'body past the received buffer (§11 note 28)',
  );
  assert.deepEqual(h.dp.programs(), []);
});

test('[wire §6.4] a reachable read outside libccp register file is rejected (-36/-37/-35); reads inside alias like libccp', () => {
  const h = harness();
  h.dp.init();
  assert.equal(h.dp.receive(when1([bind(R.C, 0, R.C, 200)])), Libccp.READ_INVALID_RIGHT_REG);
  assert.equal(h.dp.receive(when1([ins(O.ADD, R.C, 0, R.L, 8, R.IMM, 1)])), Libccp.READ_INVALID_LEFT_REG);
  assert.equal(
    h.dp.receive(when1([ins(O.EWMA, R.RN, 300, R.IMM, 1, R.IMM, 1)])),
    Libccp.READ_INVALID_RETURN_REG,
  );
  assert.deepEqual(h.dp.programs(), []);
  // report index 110 + i reads control i; tmp 8 + i reads local i; implicit 6 reads tmp 0
  const alias = when1([
    bind(R.L, 1, R.IMM, 7),
    bind(R.C, 3, R.IMM, 9),
    bind(R.T, 0, R.IMM, 11),
    bind(R.C, 0, R.T, 9),
    bind(R.C, 1, R.RN, 113),
    bind(R.C, 2, R.I, 6),
    bind(R.RN, 110, R.IMM, 1),
    bind(R.T, 8, R.IMM, 1),
    bind(R.I, 3 + 3, R.IMM, 1),
  ]);
  assert.equal(h.dp.receive(alias), 0);
  const c = h.start();
  h.dp.receive(changeProg(c.sid, 1));
  h.ack(c);
  const r = h.dp.registers(c);
  assert.deepEqual(r.control.slice(0, 4), [7n, 9n, 11n, 9n]);
  assert.equal(r.local[0], 0n, 'write to tmp 8 dropped');
  assert.equal(r.tmp[0], 11n, 'write to implicit 6 dropped');
});

function when1(body: Array<ReturnType<typeof bind>>) {
  return program(1, [], [{ cond: [TRUE], body }]);
}

test('[wire §7] an update of control index >= 110 is rejected (-53) instead of corrupting memory; earlier records stay', () => {
  const { h, c } = setup(when1([bind(R.T, 0, R.IMM, 0)]));
  h.dp.receive(changeProg(c.sid, 1));
  assert.equal(
    h.dp.receive(
      updateFields(c.sid, [
        [0, 1, 5],
        [0, 110, 1],
        [0, 2, 6],
      ]),
    ),
    -53,
  );
  assert.ok(h.logs.some(([, m]) => /control register 110/.test(m)));
  h.ack(c);
  assert.deepEqual(h.dp.registers(c).control.slice(0, 3), [0n, 5n, 0n]);
});

test('[datapath-machine §5.1] Ack.now is datapath-wide time since init; Micros is per flow', () => {
  const h = harness();
  h.dp.init();
  const t0 = h.t;
  h.dp.receive(when1([bind(R.C, 0, R.P, 5), bind(R.C, 1, R.I, 3)]));
  h.t += 100;
  const a = h.start();
  h.dp.receive(changeProg(a.sid, 1));
  h.ack(a);
  h.t += 50;
  const b = h.start();
  h.dp.receive(changeProg(b.sid, 1));
  h.ack(b);
  h.ack(a);
  assert.deepEqual(h.dp.registers(a).control.slice(0, 2), [BigInt(h.t - t0), 50n]);
  assert.deepEqual(h.dp.registers(b).control.slice(0, 2), [BigInt(h.t - t0), 0n]);
});

test('[datapath-machine §4.3] Rate starts each invocation from prims.snd_rate; Cwnd from snd_cwnd (u32)', () => {
  const { h, c } = setup(when1([bind(R.C, 0, R.I, 5), bind(R.C, 1, R.I, 4)]));
  h.dp.receive(changeProg(c.sid, 1));
  h.ack(c, { sndRate: 2 ** 40, sndCwnd: 2 ** 32 + 3 });
  assert.deepEqual(h.dp.registers(c).control.slice(0, 2), [1n << 40n, 3n]);
  assert.deepEqual(
    h.rate.map((x) => x.value),
    [0],
    'set_rate_abs gets the value truncated to 32 bits',
  );
});

test('u64 exactness across the 2^53 boundary: MUL/ADD chains switch to BigInt mid-invocation and back', () => {
  // C1 <- C0 * C0 (crosses 2^53), C2 <- C1 + 1, C3 <- C2 / C0, C4 <- C3 - C0; then C5 <- 7 (small)
  const body = [
    ins(O.MUL, R.C, 1, R.C, 0, R.C, 0),
    ins(O.ADD, R.C, 2, R.C, 1, R.IMM, 1),
    ins(O.DIV, R.C, 3, R.C, 2, R.C, 0),
    ins(O.SUB, R.C, 4, R.C, 3, R.C, 0),
    bind(R.C, 5, R.IMM, 7),
    bind(R.RN, 0, R.C, 2),
    REPORT,
  ];
  const { h, c } = setup(program(1, [def(R.RN, 0, 0)], [{ cond: [TRUE], body }]));
  h.dp.receive(changeProg(c.sid, 1));
  const x = 3000000000n; // x^2 = 9e18: above 2^53, below 2^64
  h.dp.receive(updateFields(c.sid, [[0, 0, x]]));
  assert.equal(h.ack(c), 0);
  const r = h.dp.registers(c);
  assert.deepEqual(r.control.slice(0, 6), [x, x * x, x * x + 1n, x, 0n, 7n]);
  assert.deepEqual(measure(h.take().at(-1)!).fields, [x * x + 1n]);
  // back to small values: the connection continues exactly
  h.dp.receive(
    updateFields(c.sid, [
      [0, 0, 3n],
      [0, 1, 0n],
      [0, 2, 0n],
    ]),
  );
  assert.equal(h.ack(c), 0);
  assert.deepEqual(h.dp.registers(c).control.slice(0, 5), [3n, 9n, 10n, 3n, 0n]);
  // a wrapping product the incomplete MUL check does not catch (datapath-machine §5.3)
  const y = 123456789012n;
  h.dp.receive(updateFields(c.sid, [[0, 0, y]]));
  assert.equal(h.ack(c), -94, 'p = y^2 mod 2^64 > y passes, then (p + 1) / y < y underflows');
  assert.equal(h.dp.registers(c).control[1], (y * y) % TWO64);
});

test('MUL of 2^32 x 2^32 is caught (p = 0 < left, right > 0): -93', () => {
  const { h, c } = setup(when1([ins(O.MUL, R.C, 1, R.C, 0, R.C, 0)]));
  h.dp.receive(changeProg(c.sid, 1));
  h.dp.receive(updateFields(c.sid, [[0, 0, 1n << 32n]]));
  assert.equal(h.ack(c), -93);
  h.dp.receive(updateFields(c.sid, [[0, 0, TWO64 - 1n]]));
  assert.equal(h.ack(c), -93);
});
