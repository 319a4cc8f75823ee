// Conformance of the datapath machine with conformance-checklist.md §H (78–107) and the parts of
// §A/§B that concern what a datapath sends and accepts. Each title names its checklist item.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../src/wire/index.ts';
import { Libccp } from '../../src/datapath/index.ts';
import {
  FALLTHROUGH,
  O,
  R,
  REPORT,
  TRUE,
  bind,
  changeProg,
  def,
  harness,
  hex,
  ins,
  install,
  measure,
  program,
  updateFields,
  type Harness,
  type Instr,
} from './harness.ts';
import type { Connection } from '../../src/datapath/index.ts';
import {
  CHANGE_0,
  CHANGE_1,
  CREATE_TEST,
  INSTALL_12_6,
  READY_AA,
  READY_KERNEL,
  UPDATE_2,
} from '../fixtures/spec-vectors.ts';

const TWO64 = 1n << 64n;

/** A datapath with `prog` installed (uid from the message), one flow switched to it. */
function running(prog: Buffer, over: Parameters<typeof harness>[0] = {}): { h: Harness; c: Connection } {
  const h = harness(over);
  assert.equal(h.dp.init(), 0);
  assert.equal(h.dp.receive(prog), 0);
  const c = h.start();
  assert.equal(h.dp.receive(changeProg(c.sid, prog.readUInt32LE(8))), 0);
  h.take();
  return { h, c };
}

/** A one-event program `when true { body }` with the given DEFs. */
function when(uid: number, body: Instr[], defs: Instr[] = []): Buffer {
  return program(uid, defs, [{ cond: [TRUE], body }]);
}

const regs = (h: Harness, c: Connection) => h.dp.registers(c);

// ---------------------------------------------------------------- §A / §B (datapath side)

test('[A.1][A.2][A.3][B.16][H.78] init emits READY: type 5, Len 12, sid 0, id (LE, no padding)', () => {
  const h = harness({ id: 0xaa });
  assert.equal(h.dp.init(), 0);
  assert.deepEqual(h.take(), [hex(READY_AA)]);
  assert.deepEqual(decode(h.sent[0]!), { type: 5, sid: 0, id: 0xaa });
  const k = harness();
  k.dp.init();
  assert.deepEqual(k.take(), [hex(READY_KERNEL)], 'ccp-kernel: id 0');
});

test('[B.17] CREATE of wire-protocol §12.2 (libccp unit test and ccp-kernel example) byte for byte', () => {
  const h = harness();
  h.dp.init();
  h.take();
  h.start({ initCwnd: 100, mss: 10, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, congAlg: 'my-cool-alg' });
  const [m] = h.take();
  const expected = hex(CREATE_TEST);
  assert.deepEqual(m, expected);
  const d = decode(m!);
  assert.equal(d.type, 0);
  assert.equal(d.type === 0 && d.congAlg, 'my-cool-alg');
  // ccp-kernel example: sid 3, 10 x 1448, 10.0.0.1:5001 -> 10.0.0.2:40000 in network byte order
  h.start();
  h.start();
  h.take();
  h.start({
    initCwnd: 14480,
    mss: 1448,
    srcIp: 0x0100000a,
    srcPort: 0x8913,
    dstIp: 0x0200000a,
    dstPort: 0x409c,
    congAlg: 'reno',
  });
  const [k] = h.take();
  const ek = Buffer.alloc(96);
  hex(
    '00 00 60 00 04 00 00 00 90 38 00 00 a8 05 00 00 0a 00 00 01 13 89 00 00 0a 00 00 02 9c 40 00 00 72 65 6e 6f',
  ).copy(ek);
  assert.deepEqual(k, ek);
});

test('[B.21] report fields are sent as exact u64 (2^64-1 and values above 2^53)', () => {
  const { h, c } = running(
    when(1, [bind(R.RN, 0, R.C, 0), bind(R.RN, 1, R.C, 1), REPORT], [def(R.RN, 0, 0), def(R.RN, 1, 0)]),
  );
  h.dp.receive(
    updateFields(c.sid, [
      [0, 0, TWO64 - 1n],
      [0, 1, (1n << 53n) + 1n],
    ]),
  );
  assert.equal(h.ack(c), 0);
  const [m] = h.take();
  assert.deepEqual(measure(m!).fields, [TWO64 - 1n, (1n << 53n) + 1n]);
  const d = decode(m!);
  assert.deepEqual(d.type === 1 && d.fields, [TWO64 - 1n, (1n << 53n) + 1n]);
});

test('[A.4][A.5][A.6][A.7] the 84-byte INSTALL of wire-protocol §12.6 is accepted; Report.foo = 4, no report', () => {
  const h = harness();
  h.dp.init();
  const bytes = hex(INSTALL_12_6);
  assert.equal(h.dp.receive(bytes), 0);
  const c = h.start();
  assert.equal(h.dp.receive(changeProg(1, 7)), 0);
  h.take();
  assert.equal(h.ack(c), 0);
  assert.equal(regs(h, c).report[0], 4n);
  assert.equal(h.take().length, 0);
});

test('[A.8][A.9][H.89] UPDATE_FIELDS Cwnd<-42, Rate<-10 (§12.4 bytes): applied at the next invoke, set_cwnd twice', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  const msg = hex(UPDATE_2);
  assert.equal(h.dp.receive(msg), 0);
  assert.equal(h.cwnd.length, 0, 'nothing on receipt');
  assert.equal(h.rate.length, 0);
  assert.equal(h.ack(c, { sndCwnd: 1000 }), 0);
  // staged callbacks before the program, then the post-program callbacks with the register values
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [42, 42],
  );
  assert.deepEqual(
    h.rate.map((x) => x.value),
    [10, 10],
  );
  h.cwnd.length = 0;
  h.ack(c, { sndCwnd: 1000 });
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [1000],
    'staged values are applied once',
  );
});

test('[A.11][A.12][H.86] CHANGE_PROG vectors of §12.5: +8 while uid 7 is not installed, 0 once it is', () => {
  const h = harness();
  h.dp.init();
  h.start();
  const v = hex(CHANGE_1);
  assert.equal(h.dp.receive(v), 8);
  assert.equal(h.dp.receive(hex(CHANGE_0)), 8);
  assert.equal(h.dp.receive(when(7, [bind(R.T, 0, R.IMM, 0)])), 0);
  assert.equal(h.dp.receive(v), 0);
  assert.equal(h.dp.receive(when(1, [bind(R.T, 0, R.IMM, 0)])), 0);
  assert.equal(h.dp.receive(hex(CHANGE_0)), 0);
});

test('[A.13] a u64 update value of 2^40 reaches the control register exactly', () => {
  const { h, c } = running(when(1, [bind(R.RN, 0, R.C, 3), REPORT], [def(R.RN, 0, 0)]));
  h.dp.receive(updateFields(c.sid, [[0, 3, 1n << 40n]]));
  h.ack(c);
  assert.deepEqual(measure(h.take()[0]!).fields, [1n << 40n]);
});

test('[A.14][H.104] received type 0, 1, 5, >= 6 -> -32; Len > buffer -> -22; Len > 32678 -> -23', () => {
  const h = harness();
  h.dp.init();
  for (const t of [0, 1, 5, 6, 0xff, 0x0102]) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(t, 0);
    b.writeUInt16LE(16, 2);
    assert.equal(h.dp.receive(b), -32, `type ${t}`);
  }
  const u = updateFields(1, [[2, 4, 42]]);
  assert.equal(h.dp.receive(u.subarray(0, 20)), -22);
  const big = Buffer.alloc(32679);
  big.writeUInt16LE(3, 0);
  big.writeUInt16LE(32679, 2);
  assert.equal(h.dp.receive(big), -23);
  const ok = Buffer.alloc(32678);
  ok.writeUInt16LE(3, 0);
  ok.writeUInt16LE(32678, 2);
  assert.equal(h.dp.receive(ok), -71, 'Len 32678 passes the length checks (then unknown sid 0)');
});

// ---------------------------------------------------------------- §H

test('[H.79] connection start takes the lowest free slot, sid = slot + 1, a freed sid is reused', () => {
  const h = harness();
  h.dp.init();
  assert.deepEqual([h.start().sid, h.start().sid, h.start().sid], [1, 2, 3]);
  h.dp.freeConnection(2);
  assert.equal(h.start().sid, 2);
  assert.equal(h.start().sid, 4);
  const small = harness({ maxConnections: 2 });
  small.dp.init();
  small.start();
  small.start();
  small.take();
  assert.equal(
    small.dp.startConnection({
      initCwnd: 1,
      mss: 1,
      srcIp: 0,
      srcPort: 0,
      dstIp: 0,
      dstPort: 0,
      congAlg: '',
    }),
    null,
  );
  assert.equal(small.take().length, 0, 'no CREATE for a flow without a slot');
});

test('[H.80] failed CREATE: no program runs; CREATE retried from invoke at most once per 100 ms; that invoke returns 0 without running', () => {
  const h = harness({ ftoUs: 60_000_000 });
  h.dp.init();
  h.dp.receive(when(1, [bind(R.C, 0, R.IMM, 9)]));
  h.take();
  h.sendResult = -1;
  const t0 = h.t;
  const c = h.start();
  assert.equal(h.take().length, 1, 'CREATE attempted at start');
  assert.equal(h.dp.receive(changeProg(c.sid, 1)), 0, 'the slot exists, so CHANGE_PROG is staged');
  h.t = t0 + 50_000;
  assert.equal(h.ack(c, { sndCwnd: 5000 }), 0);
  assert.equal(h.take().length, 0, 'less than 100 ms: no retry');
  h.t = t0 + 100_000;
  assert.equal(h.ack(c, { sndCwnd: 5000 }), 0);
  assert.equal(h.take().length, 1, 'retry after 100 ms (fails again)');
  h.t = t0 + 150_000;
  assert.equal(h.ack(c), 0);
  assert.equal(h.take().length, 0);
  h.sendResult = 0;
  h.t = t0 + 200_000;
  assert.equal(h.ack(c), 0);
  const [cr] = h.take();
  assert.equal(cr!.readUInt16LE(0), 0, 'CREATE re-sent');
  assert.equal(h.cwnd.length, 0, 'no program ran, no set_cwnd');
  assert.equal(regs(h, c).control[0], 0n);
  h.t += 10;
  assert.equal(h.ack(c, { sndCwnd: 5000 }), 0);
  assert.equal(regs(h, c).control[0], 9n, 'the program runs from the next invocation');
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [5000],
  );
  h.t += 500_000;
  h.ack(c);
  assert.equal(h.take().filter((m) => m.readUInt16LE(0) === 0).length, 0, 'never re-sent after success');
});

test('[H.81] a flow starting in a slot whose previous CREATE was < 100 ms ago has its CREATE deferred', () => {
  const h = harness();
  h.dp.init();
  h.take();
  const t0 = h.t;
  h.start();
  h.t = t0 + 10_000;
  h.dp.freeConnection(1);
  h.t = t0 + 20_000;
  const b = h.start();
  assert.equal(b.sid, 1);
  const types = () => h.take().map((m) => `${m.readUInt16LE(0)}:${m.readUInt32LE(4)}`);
  assert.deepEqual(types(), ['0:1', '1:1'], 'CREATE sid 1, close sid 1, no second CREATE yet');
  assert.equal(regs(h, b).sentCreate, false);
  h.t = t0 + 99_999;
  assert.equal(h.ack(b), 0);
  assert.deepEqual(types(), []);
  h.t = t0 + 100_000;
  assert.equal(h.ack(b), 0);
  assert.deepEqual(types(), ['0:1'], 'deferred CREATE at the first invoke >= 100 ms after the previous one');
});

test('[H.82] connection end sends the 16-byte close MEASURE and frees the slot', () => {
  const h = harness();
  h.dp.init();
  h.start();
  const c = h.start();
  h.take();
  h.dp.freeConnection(2);
  assert.deepEqual(h.take(), [hex('01 00 10 00 02 00 00 00 00 00 00 00 00 00 00 00')]);
  assert.equal(h.dp.connection(2), null);
  assert.equal(h.dp.activeConnections(), 1);
  assert.equal(h.dp.invoke(c), Libccp.PRIV_IS_NULL, 'a freed connection has no private state');
  h.dp.freeConnection(2);
  h.dp.freeConnection(0);
  h.dp.freeConnection(5000);
  assert.equal(h.take().length, 0, 'unknown sids: logged, nothing sent');
  const d = decode(hex('01 00 10 00 02 00 00 00 00 00 00 00 00 00 00 00'));
  assert.equal(d.type === 1 && d.numFields, 0);
});

test('[H.83] until CHANGE_PROG is applied invoke returns -96 and calls set_cwnd only for a staged Cwnd', () => {
  const h = harness();
  h.dp.init();
  const c = h.start();
  assert.equal(h.ack(c, { sndCwnd: 14480 }), -96);
  assert.equal(h.cwnd.length, 0);
  h.dp.receive(
    updateFields(c.sid, [
      [2, 4, 42],
      [0, 5, 77],
    ]),
  );
  assert.equal(h.ack(c, { sndCwnd: 14480 }), -96);
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [42],
  );
  assert.equal(regs(h, c).control[5], 77n, 'control values are stored even without a program (§7.3)');
  assert.ok(h.logs.some(([l, m]) => l === 'warn' && /program is null/.test(m)));
});

test('[H.84] INSTALL with uid 1 empties the program table first; flows keep their slot index (§7.1)', () => {
  const h = harness();
  h.dp.init();
  h.dp.receive(when(2, [bind(R.C, 0, R.IMM, 2)]));
  h.dp.receive(when(3, [bind(R.C, 0, R.IMM, 3)]));
  const a = h.start();
  const b = h.start();
  h.dp.receive(changeProg(a.sid, 2));
  h.dp.receive(changeProg(b.sid, 3));
  h.ack(a);
  h.ack(b);
  assert.deepEqual(
    h.dp.programs().map((p) => [p.index, p.uid]),
    [
      [1, 2],
      [2, 3],
    ],
  );
  h.dp.receive(when(1, [bind(R.C, 1, R.IMM, 1)]));
  assert.deepEqual(
    h.dp.programs().map((p) => [p.index, p.uid]),
    [[1, 1]],
  );
  assert.equal(h.ack(b), -96, 'slot 2 is empty now');
  h.dp.receive(
    bind.length
      ? program(1, [def(R.C, 2, 55)], [{ cond: [TRUE], body: [bind(R.C, 1, R.IMM, 1)] }])
      : Buffer.alloc(0),
  );
  // flow a still points at slot 1, now re-filled with the uid-1 program: it runs it, with no reset
  assert.equal(h.ack(a), 0);
  assert.equal(regs(h, a).control[1], 1n);
  assert.equal(regs(h, a).control[0], 2n, 'old registers kept');
});

test('[H.85] a table of 10 slots accepts 9 programs; the 10th install returns -81 and occupies the last slot', () => {
  const h = harness();
  h.dp.init();
  for (let uid = 1; uid <= 9; uid++) assert.equal(h.dp.receive(when(uid, [REPORT])), 0);
  assert.equal(h.dp.receive(when(10, [REPORT])), -81);
  assert.deepEqual(
    h.dp.programs().map((p) => p.uid),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 0],
    'slot 10 marked used, uid 0',
  );
  assert.equal(h.dp.receive(when(11, [REPORT])), -81);
  const c = h.start();
  assert.equal(h.dp.receive(changeProg(c.sid, 10)), 8);
  assert.equal(h.dp.receive(changeProg(c.sid, 0)), 0, 'the placeholder is found by uid 0');
  const three = harness({ maxPrograms: 3 });
  three.dp.init();
  assert.deepEqual(
    [1, 2, 3].map((u) => three.dp.receive(when(u, [REPORT]))),
    [0, 0, -81],
  );
});

test('[H.86] CHANGE_PROG for an unknown uid returns +8 and keeps earlier staged updates', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  h.dp.receive(updateFields(c.sid, [[2, 4, 42]]));
  assert.equal(h.dp.receive(changeProg(c.sid, 99, [[2, 4, 7]])), 8);
  h.ack(c, { sndCwnd: 1000 });
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [42, 42],
  );
  assert.equal(regs(h, c).programIndex, 1);
});

test('[H.87] CHANGE_PROG discards earlier staged UPDATE_FIELDS; UPDATE_FIELDS after it apply after the switch', () => {
  const p = when(1, [bind(R.T, 0, R.IMM, 0)], [def(R.C, 0, 100), def(R.C, 1, 200)]);
  const { h, c } = running(p);
  h.ack(c);
  h.dp.receive(updateFields(c.sid, [[0, 0, 1]]));
  h.dp.receive(changeProg(c.sid, 1));
  h.ack(c);
  assert.equal(regs(h, c).control[0], 100n, 'update lost, default applied');
  h.dp.receive(changeProg(c.sid, 1));
  h.dp.receive(updateFields(c.sid, [[0, 1, 2]]));
  h.ack(c);
  assert.equal(regs(h, c).control[1], 2n, 'update applied after the defaults');
});

test('[H.88] at a switch every declared variable takes its default and Micros restarts; CHANGE_PROG values override', () => {
  const defs = [def(R.RN, 0, 5), def(R.RV, 1, 6), def(R.C, 0, 7), def(R.CV, 1, 8)];
  const body = [bind(R.RN, 2, R.I, 3)];
  const p = program(1, [...defs, def(R.RN, 2, 0)], [{ cond: [TRUE], body }]);
  const { h, c } = running(p);
  h.ack(c);
  h.dp.receive(
    updateFields(c.sid, [
      [0, 0, 70],
      [8, 1, 80],
    ]),
  );
  h.t += 500;
  h.ack(c);
  let r = regs(h, c);
  assert.deepEqual(
    [r.report[0], r.report[1], r.control[0], r.control[1], r.report[2]],
    [5n, 6n, 70n, 80n, 500n],
  );
  // switch to the same program: full restart, then the CHANGE_PROG value for control 0
  h.dp.receive(changeProg(c.sid, 1, [[0, 0, 71]]));
  h.t += 300;
  h.ack(c);
  r = regs(h, c);
  assert.deepEqual([r.control[0], r.control[1], r.report[2]], [71n, 8n, 0n]);
});

test('[H.90] UPDATE_FIELDS count bytes 01 01 00 00 are read as 1; a count of 128 is rejected (-52)', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  assert.equal(
    h.dp.receive(
      updateFields(
        c.sid,
        [
          [0, 0, 5],
          [0, 1, 6],
        ],
        0x0101,
      ),
    ),
    0,
  );
  h.ack(c);
  assert.deepEqual([regs(h, c).control[0], regs(h, c).control[1]], [5n, 0n]);
  assert.equal(h.dp.receive(updateFields(c.sid, [[0, 0, 9]], 128)), -52);
  assert.equal(h.dp.receive(updateFields(c.sid, [[0, 0, 9]], 255)), -52);
  // 127 passes the count check; libccp reads records past Len from the rest of the buffer
  const past = Buffer.concat([updateFields(c.sid, [[0, 0, 9]], 127), Buffer.alloc(13 * 126)]);
  assert.equal(h.dp.receive(past), 0);
  h.ack(c);
  assert.equal(regs(h, c).control[0], 0n, 'the zero records after Len were staged too (last wins)');
  // ...but never past the end of the received buffer (wire-protocol §11 note 28): rejected instead
  assert.equal(h.dp.receive(updateFields(c.sid, [[0, 0, 9]], 2)), -22);
});

test('[H.91] an update record of type other than 0, 2, 8 returns -53; earlier records stay staged', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  assert.equal(
    h.dp.receive(
      updateFields(c.sid, [
        [0, 0, 5],
        [5, 0, 1],
        [0, 1, 6],
      ]),
    ),
    -53,
  );
  h.ack(c);
  assert.deepEqual([regs(h, c).control[0], regs(h, c).control[1]], [5n, 0n]);
  assert.equal(
    h.dp.receive(
      changeProg(c.sid, 1, [
        [0, 2, 3],
        [1, 0, 0],
      ]),
    ),
    -53,
  );
  h.ack(c);
  assert.equal(regs(h, c).control[2], 3n);
});

test('[H.92] implicit-register updates other than 4 and 5 are accepted and ignored', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  h.ack(c);
  assert.equal(
    h.dp.receive(
      updateFields(c.sid, [
        [2, 0, 1],
        [2, 3, 99],
        [2, 2, 1],
      ]),
    ),
    0,
  );
  h.t += 10;
  h.ack(c);
  const r = regs(h, c);
  assert.equal(r.implicit[3], 10n, 'Micros not overwritten');
  assert.equal(h.take().length, 0, 'no report flag');
});

test('[H.93] events in order; stop after a true event without fallthrough; fallthrough is sticky; flag not cleared', () => {
  const inc = (i: number): Instr[] => [ins(O.ADD, R.T, 0, R.C, i, R.IMM, 1), bind(R.C, i, R.T, 0)];
  const stop = program(
    1,
    [],
    [
      { cond: [TRUE], body: inc(0) },
      { cond: [TRUE], body: inc(1) },
    ],
  );
  let { h, c } = running(stop);
  h.ack(c);
  assert.deepEqual([regs(h, c).control[0], regs(h, c).control[1]], [1n, 0n]);
  const sticky = program(
    2,
    [],
    [
      { cond: [TRUE], body: [FALLTHROUGH] },
      { cond: [TRUE], body: inc(0) },
      { cond: [TRUE], body: inc(1) },
      { cond: [ins(O.LT, R.I, 0, R.IMM, 1, R.IMM, 0)], body: inc(2) },
      { cond: [TRUE], body: inc(3) },
    ],
  );
  ({ h, c } = running(sticky));
  h.ack(c);
  const r = regs(h, c).control.slice(0, 4);
  assert.deepEqual(r, [1n, 1n, 0n, 1n], 'events after the fallthrough all run; a false one is skipped');
  // a condition that does not write the flag inherits the previous event's value
  const inherit = program(
    3,
    [],
    [
      { cond: [TRUE], body: [FALLTHROUGH] },
      { cond: [bind(R.T, 0, R.IMM, 0)], body: inc(0) },
    ],
  );
  ({ h, c } = running(inherit));
  h.ack(c);
  assert.equal(regs(h, c).control[0], 1n);
});

test('[H.94] set_cwnd if Cwnd > 0 and set_rate if Rate != 0 after every successful invoke, truncated to 32 bits', () => {
  const { h, c } = running(
    when(1, [bind(R.I, 4, R.C, 0), bind(R.I, 5, R.C, 1)], [def(R.C, 0, 0), def(R.C, 1, 0)]),
  );
  h.ack(c, { sndCwnd: 3000, sndRate: 100 });
  assert.deepEqual([h.cwnd.length, h.rate.length], [0, 0], 'program wrote 0 into both');
  h.dp.receive(
    updateFields(c.sid, [
      [0, 0, (1n << 32n) + 7n],
      [0, 1, (1n << 33n) + 9n],
    ]),
  );
  h.ack(c);
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [7],
  );
  assert.deepEqual(
    h.rate.map((x) => x.value),
    [9],
  );
  const nop = running(when(2, [bind(R.T, 0, R.IMM, 0)]));
  nop.h.ack(nop.c, { sndCwnd: 1448, sndRate: 0 });
  nop.h.ack(nop.c, { sndCwnd: 2896, sndRate: 5 });
  nop.h.ack(nop.c, { sndCwnd: 0, sndRate: 0 });
  assert.deepEqual(
    nop.h.cwnd.map((x) => x.value),
    [1448, 2896],
    'the loaded window is re-applied',
  );
  assert.deepEqual(
    nop.h.rate.map((x) => x.value),
    [5],
  );
});

test('[H.95] report: MEASURE of report registers 0..n-1 after the callbacks, then volatile report and control reset', () => {
  const defs = [def(R.RV, 1, 11), def(R.RN, 0, 22), def(R.CV, 0, 33), def(R.C, 1, 44)];
  const body = [
    bind(R.RV, 1, R.IMM, 1),
    bind(R.RN, 0, R.IMM, 2),
    bind(R.CV, 0, R.IMM, 3),
    bind(R.C, 1, R.IMM, 4),
    bind(R.I, 4, R.IMM, 5000),
    REPORT,
  ];
  const order: string[] = [];
  const k = harness({
    send: (m) => (order.push(`send:${m.readUInt16LE(0)}`), 0),
    setCwnd: (_c, v) => order.push(`cwnd:${v}`),
  });
  k.dp.init();
  k.dp.receive(program(1, defs, [{ cond: [TRUE], body }]));
  const c = k.start();
  k.dp.receive(changeProg(c.sid, 1));
  order.length = 0;
  k.ack(c);
  assert.deepEqual(order, ['cwnd:5000', 'send:1']);
  const r = k.dp.registers(c);
  assert.deepEqual([r.report[1], r.report[0], r.control[0], r.control[1]], [11n, 2n, 33n, 4n]);
  const { h: h2, c: c2 } = running(program(1, defs, [{ cond: [TRUE], body }]));
  h2.ack(c2);
  assert.deepEqual(measure(h2.take()[0]!), { sid: 1, uid: 1, fields: [2n, 1n] }, 'by register index, n = 2');
});

test('[H.96] ADD overflow -91, DIV by zero -92, MUL overflow (result < left, right > 0) -93, SUB right > left -94 abort', () => {
  const cases: Array<[number, bigint, bigint, number]> = [
    [O.ADD, TWO64 - 1n, 1n, -91],
    [O.DIV, 5n, 0n, -92],
    [O.MUL, 0x6000000000000000n, 3n, -93],
    [O.SUB, 1n, 2n, -94],
  ];
  for (const [op, a, b, code] of cases) {
    const defs = [def(R.RV, 0, 0), def(R.CV, 2, 9)];
    const body = [
      bind(R.RV, 0, R.IMM, 1),
      bind(R.CV, 2, R.IMM, 1),
      bind(R.I, 4, R.IMM, 777),
      REPORT,
      ins(op, R.C, 3, R.C, 0, R.C, 1),
      bind(R.C, 4, R.IMM, 1),
    ];
    const { h, c } = running(program(1, defs, [{ cond: [TRUE], body }]));
    h.dp.receive(
      updateFields(c.sid, [
        [0, 0, a],
        [0, 1, b],
      ]),
    );
    assert.equal(h.ack(c, { sndCwnd: 1000 }), code, `op ${op}`);
    assert.equal(h.cwnd.length, 0, 'no callbacks');
    assert.equal(h.take().length, 0, 'no report');
    const r = regs(h, c);
    assert.equal(r.report[0], 1n, 'writes before the error remain, no volatile reset');
    assert.equal(r.control[2], 1n);
    assert.equal(r.control[3], 0n, 'no result written');
    assert.equal(r.control[4], 0n, 'later instructions skipped');
    assert.ok(h.logs.some(([, m]) => m.includes(`(${code})`)));
  }
  // the incomplete MUL check: 3 x 0x6000000000000000 wraps silently (datapath-machine §5.3)
  const { h, c } = running(when(1, [ins(O.MUL, R.C, 3, R.C, 0, R.C, 1)]));
  h.dp.receive(
    updateFields(c.sid, [
      [0, 0, 3n],
      [0, 1, 0x6000000000000000n],
    ]),
  );
  assert.equal(h.ack(c), 0);
  assert.equal(regs(h, c).control[3], 0x2000000000000000n);
  // an error repeats while its cause persists (dividing by a zero Cwnd)
  const d = running(when(2, [ins(O.DIV, R.T, 0, R.IMM, 10, R.I, 4)]));
  assert.equal(d.h.ack(d.c, { sndCwnd: 0 }), -92);
  assert.equal(d.h.ack(d.c, { sndCwnd: 0 }), -92);
  assert.equal(d.h.ack(d.c, { sndCwnd: 5 }), 0);
});

test('[H.97] EWMA: s if T = 0, else (w*T + (10-w)*s)/10 mod 2^64 (w=2, T=100, s=50 -> 60; w > 10 wraps)', () => {
  const { h, c } = running(when(1, [ins(O.EWMA, R.C, 2, R.C, 0, R.C, 1)]));
  const run = (w: bigint, t: bigint, s: bigint): bigint => {
    h.dp.receive(
      updateFields(c.sid, [
        [0, 0, w],
        [0, 1, s],
        [0, 2, t],
      ]),
    );
    assert.equal(h.ack(c), 0);
    return regs(h, c).control[2]!;
  };
  assert.equal(run(2n, 100n, 50n), 60n);
  assert.equal(run(2n, 0n, 50n), 50n);
  assert.equal(run(8n, 6000n, 6000n), 6000n);
  assert.equal(run(11n, 10n, 1n), 10n, '(110 + (2^64-1)) mod 2^64 = 109, / 10');
  assert.equal(run(0n, 1n << 62n, 7n), 7n);
  assert.equal(run(10n, 1n << 62n, 7n), ((10n * (1n << 62n)) % TWO64) / 10n, 'w*T wraps');
});

test('[H.98] wrapped_max(0xFFFFFFF0, 5) = 5, (5,7) = 7, (7,5) = 7, (0, x) = x with all 64 bits', () => {
  const { h, c } = running(when(1, [ins(O.MAXWRAP, R.C, 2, R.C, 0, R.C, 1)]));
  const run = (a: bigint, b: bigint): bigint => {
    h.dp.receive(
      updateFields(c.sid, [
        [0, 0, a],
        [0, 1, b],
      ]),
    );
    h.ack(c);
    return regs(h, c).control[2]!;
  };
  assert.equal(run(0xfffffff0n, 5n), 5n);
  assert.equal(run(5n, 7n), 7n);
  assert.equal(run(7n, 5n), 7n);
  assert.equal(run(0n, (1n << 40n) + 3n), (1n << 40n) + 3n);
  assert.equal(run((1n << 40n) + 3n, 0n), (1n << 40n) + 3n);
  assert.equal(run((1n << 40n) + 3n, (1n << 41n) + 2n), 3n, 'low 32 bits compared, zero-extended');
});

test('[H.99] a DEF default 0x3FFFFFFF initialises to 0xFFFFFFFF; an immediate 0xFFFFFFFF reads 4294967295', () => {
  const p = when(
    1,
    [bind(R.C, 1, R.IMM, 0xffffffff), bind(R.C, 2, R.IMM, 0x3fffffff)],
    [def(R.C, 0, 0x3fffffff)],
  );
  const { h, c } = running(p);
  h.ack(c);
  const r = regs(h, c);
  assert.deepEqual([r.control[0], r.control[1], r.control[2]], [0xffffffffn, 4294967295n, 0x3fffffffn]);
});

test('[H.100] Flow.rtt_sample_us reads 4294967295 when the sample is 0', () => {
  const { h, c } = running(when(1, [bind(R.C, 0, R.P, 13)]));
  h.ack(c, { rttSampleUs: 0 });
  assert.equal(regs(h, c).control[0], 4294967295n);
  h.ack(c, { rttSampleUs: 123 });
  assert.equal(regs(h, c).control[0], 123n);
});

test('[H.101] Micros <- 0 restarts the clock; a report does not reset Micros; Micros <- v continues from v', () => {
  const body = [bind(R.RN, 0, R.I, 3), REPORT];
  const timer = program(
    1,
    [def(R.RN, 0, 0)],
    [
      { cond: [TRUE], body: [...body, FALLTHROUGH] },
      { cond: [ins(O.GT, R.I, 0, R.I, 3, R.IMM, 200)], body: [bind(R.I, 3, R.IMM, 0)] },
    ],
  );
  const { h, c } = running(timer);
  const t0 = h.t;
  const micros = (dt: number): bigint => {
    h.t = t0 + dt;
    h.ack(c);
    return measure(h.take()[0]!).fields[0]!;
  };
  assert.equal(micros(0), 0n);
  assert.equal(micros(100), 100n);
  assert.equal(micros(250), 250n, 'not reset by the report at 100');
  assert.equal(micros(260), 10n, 'restarted at 250');
  // Micros <- 1000 then 40 µs later Micros reads 1040 (a datapath whose now() is in µs, §5.2)
  const check = running(
    program(
      4,
      [],
      [
        {
          cond: [ins(O.EQ, R.I, 0, R.C, 9, R.IMM, 0)],
          body: [bind(R.I, 3, R.IMM, 1000), bind(R.C, 9, R.IMM, 1)],
        },
        { cond: [TRUE], body: [bind(R.C, 0, R.I, 3)] },
      ],
    ),
  );
  check.h.ack(check.c);
  check.h.t += 40;
  check.h.ack(check.c);
  assert.equal(check.h.dp.registers(check.c).control[0], 1040n);
});

test('[H.102] locals and temps keep their values across invocations and program switches', () => {
  const count = [ins(O.ADD, R.T, 0, R.L, 0, R.IMM, 1), bind(R.L, 0, R.T, 0)];
  const h = harness();
  h.dp.init();
  h.dp.receive(when(1, count));
  h.dp.receive(when(2, [bind(R.C, 0, R.L, 0), bind(R.C, 1, R.T, 0)]));
  const c = h.start();
  h.dp.receive(changeProg(c.sid, 1));
  h.ack(c);
  h.ack(c);
  h.ack(c);
  h.dp.receive(changeProg(c.sid, 2));
  h.ack(c);
  assert.deepEqual([regs(h, c).control[0], regs(h, c).control[1]], [3n, 3n]);
});

test('[H.103] after a failed send, fto_us of agent silence puts every flow in fallback (-101); any agent message ends it', () => {
  const { h, c } = running(when(1, [REPORT], [def(R.RV, 0, 0)]));
  const d = h.start();
  h.dp.receive(changeProg(d.sid, 1));
  h.sendResult = -1;
  const t0 = h.t;
  assert.equal(h.ack(c), 0, 'the report send fails and arms the timer');
  h.sendResult = 0;
  h.t = t0 + 500;
  assert.equal(h.ack(c), 0, 'a later successful send does not disarm');
  h.t = t0 + 1000;
  assert.equal(h.ack(d), 0, 'exactly fto_us is not yet fallback');
  h.t = t0 + 1001;
  h.take();
  assert.equal(h.ack(c), -101);
  assert.equal(h.ack(d), -101);
  assert.equal(h.take().length, 0);
  assert.ok(h.dp.inFallback());
  assert.ok(h.logs.some(([l, m]) => l === 'error' && /entering fallback/.test(m)));
  assert.equal(h.dp.receive(updateFields(999, [])), -71, 'unknown sid, but it passed the header checks');
  assert.equal(h.ack(c), 0);
  assert.ok(!h.dp.inFallback());
  assert.ok(h.logs.some(([l, m]) => l === 'error' && /leaving fallback/.test(m)));
  // a positive send result also counts as a failure; READY and close never arm the timer
  const p = running(when(1, [REPORT], [def(R.RV, 0, 0)]));
  p.h.sendResult = 12;
  p.h.ack(p.c);
  p.h.t += 1001;
  assert.equal(p.h.ack(p.c), -101);
  const q = harness();
  q.sendResult = -1;
  q.dp.init();
  q.sendResult = 0;
  const e = q.start();
  q.sendResult = -1;
  q.dp.freeConnection(e.sid);
  q.sendResult = 0;
  q.t += 200_000;
  const f = q.start();
  q.t += 5000;
  assert.equal(q.ack(f), -96, 'not in fallback');
});

test('[H.105] only the first message of a received buffer is processed', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  const both = Buffer.concat([updateFields(c.sid, [[2, 4, 42]]), updateFields(c.sid, [[2, 5, 10]])]);
  assert.equal(h.dp.receive(both), 0);
  h.ack(c);
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [42, 42],
  );
  assert.equal(h.rate.length, 0);
});

test('[H.106] the SocketId is truncated to 16 bits when looking up the flow', () => {
  const { h, c } = running(when(1, [bind(R.T, 0, R.IMM, 0)]));
  assert.equal(h.dp.receive(updateFields(0x00010001, [[2, 4, 42]])), 0);
  h.ack(c);
  assert.deepEqual(
    h.cwnd.map((x) => x.value),
    [42, 42],
  );
  assert.equal(h.dp.receive(updateFields(0x00010000, [])), -71, 'sid 0 after truncation');
});

test('[H.107] an event range reaching instruction 256 is rejected at install (wire-protocol §6.7: libccp would loop forever)', () => {
  const h = harness();
  h.dp.init();
  const body = Array.from({ length: 254 }, () => bind(R.T, 0, R.IMM, 0));
  // 1 condition + 255 body instructions: body range [1, 256)
  const bad = program(2, [], [{ cond: [TRUE], body: [...body, bind(R.T, 0, R.IMM, 0)] }]);
  assert.equal(h.dp.receive(bad), Libccp.INSTALL_TOO_MANY_INSTR);
  assert.ok(h.logs.some(([l, m]) => l === 'error' && /loop forever/.test(m)));
  assert.deepEqual(h.dp.programs(), [], 'nothing stored');
  const startBeyond = install(3, [[300, 0, 300, 0]], [TRUE]);
  assert.equal(
    h.dp.receive(startBeyond),
    Libccp.INSTALL_TOO_MANY_INSTR,
    'a range starting at 300 also loops (u8 counter)',
  );
  // ending at 255 is fine: instruction 254 runs
  const ok = program(4, [], [{ cond: [TRUE], body: [...body.slice(0, 253), bind(R.C, 0, R.IMM, 5)] }]);
  assert.equal(h.dp.receive(ok), 0);
  const c = h.start();
  h.dp.receive(changeProg(c.sid, 4));
  assert.equal(h.ack(c), 0);
  assert.equal(regs(h, c).control[0], 5n);
});
