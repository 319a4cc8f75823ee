// Verified runs of language.md §13 (examples A, B, C) and the MEASURE of wire-protocol §12.3,
// executed by the datapath machine from the spec's INSTALL_EXPR bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeProg, harness as baseHarness, hex, measure, updateFields } from './harness.ts';
import { EXAMPLE_A, EXAMPLE_B, EXAMPLE_C } from './spec-examples.ts';
import { MEASURE_3, UPDATE_CONTROL } from '../fixtures/spec-vectors.ts';

for (const engine of ['compiled', 'interpreted'] as const) {
  const harness = () => baseHarness({ engine });

  test(`[lang §13.1][B.20] example A: verified run (reports at t=60 and t=110, minrtt non-volatile) [${engine}]`, () => {
    const h = harness();
    assert.equal(h.dp.init(), 0);
    assert.equal(EXAMPLE_A.length, 260);
    assert.equal(h.dp.receive(EXAMPLE_A), 0);
    const c = h.start();
    assert.equal(h.dp.receive(changeProg(1, 1)), 0);
    h.take();
    const t0 = h.t;
    const rows: Array<[number, number, bigint[] | null]> = [
      [0, 50, null],
      [30, 50, null],
      [50, 50, null],
      [60, 40, [40n, 4000n, 40n]],
      [110, 40, [40n, 1000n, 40n]],
    ];
    for (const [t, rtt, report] of rows) {
      h.t = t0 + t;
      h.cwnd.length = 0;
      assert.equal(h.ack(c, { bytesAcked: 1000, rttSampleUs: rtt, sndCwnd: 14480 }), 0);
      // set_cwnd re-applies the loaded window on every successful invocation (datapath-machine §4.3)
      assert.deepEqual(
        h.cwnd.map((x) => x.value),
        [14480],
      );
      const msgs = h.take();
      if (report === null) assert.equal(msgs.length, 0, `no report at t=${t}`);
      else {
        assert.equal(msgs.length, 1);
        assert.deepEqual(measure(msgs[0]!), { sid: 1, uid: 1, fields: report });
        if (t === 60) {
          // wire-protocol §12.3: the 40-byte MEASURE produced by this run
          assert.deepEqual(msgs[0], hex(MEASURE_3));
        }
      }
    }
  });

  test(`[lang §13.2] example B: verified run (EWMA, IF, local, DIV-by-zero abort, UPDATE_FIELDS target) [${engine}]`, () => {
    const h = harness();
    h.dp.init();
    assert.equal(EXAMPLE_B.length, 372);
    assert.equal(h.dp.receive(EXAMPLE_B), 0);
    const c = h.start();
    assert.equal(h.dp.receive(changeProg(1, 2)), 0);
    h.take();
    const t0 = h.t;
    const step = (tUs: number, cwndIn: number): number => {
      h.t = t0 + tUs;
      h.cwnd.length = 0;
      return h.ack(c, { bytesAcked: 1448, rttSampleUs: 6000, sndCwnd: cwndIn });
    };
    assert.equal(step(0, 14480), 0);
    assert.deepEqual(
      h.cwnd.map((x) => x.value),
      [14624],
    );
    assert.equal(step(40000, 14624), 0);
    assert.deepEqual(
      h.cwnd.map((x) => x.value),
      [14767],
    );
    assert.equal(step(80000, 14767), 0);
    assert.deepEqual(
      h.cwnd.map((x) => x.value),
      [14908],
    );
    assert.equal(h.take().length, 0);
    assert.equal(step(80010, 0), -92);
    assert.equal(h.cwnd.length, 0, 'aborted invocation calls no set_cwnd');
    assert.equal(h.take().length, 0);
    const upd = updateFields(1, [[0, 0, 15000]]);
    assert.deepEqual(upd, hex(UPDATE_CONTROL));
    assert.equal(h.dp.receive(upd), 0);
    assert.equal(step(180000, 14480), 0);
    assert.deepEqual(
      h.cwnd.map((x) => x.value),
      [14624],
    );
    const msgs = h.take();
    assert.equal(msgs.length, 1);
    assert.deepEqual(measure(msgs[0]!), { sid: 1, uid: 2, fields: [6000n, 14624n] });
    const regs = h.dp.registers(c);
    assert.equal(regs.control[0], 15000n, 'target updated');
    assert.equal(regs.control[1], 0n, 'hits (volatile control) reset after the report');
  });

  test(`[lang §13.3] example C: verified run (Bool primitive condition, && as MUL, || as ADD, !if) [${engine}]`, () => {
    const h = harness();
    h.dp.init();
    assert.equal(EXAMPLE_C.length, 324);
    assert.equal(h.dp.receive(EXAMPLE_C), 0);
    const c = h.start();
    assert.equal(h.dp.receive(changeProg(1, 3)), 0);
    h.take();
    for (let i = 1; i <= 9; i++) {
      h.t += 100;
      assert.equal(h.ack(c, { rttSampleUs: 500, packetsAcked: 1, wasTimeout: false }), 0);
      assert.equal(h.take().length, 0, `no report at ack ${i}`);
    }
    h.t += 100;
    h.ack(c, { rttSampleUs: 500, packetsAcked: 1 });
    let m = h.take();
    assert.equal(m.length, 1);
    assert.deepEqual(measure(m[0]!).fields, [0n, 10n]);
    h.t += 100;
    h.ack(c, { rttSampleUs: 500, packetsAcked: 1, wasTimeout: true });
    m = h.take();
    assert.equal(m.length, 1);
    assert.deepEqual(measure(m[0]!).fields, [1n, 0n], 'first event fires and stops evaluation');
    h.t += 100;
    h.ack(c, { rttSampleUs: 50, packetsAcked: 1, wasTimeout: false });
    m = h.take();
    assert.equal(m.length, 1);
    assert.deepEqual(measure(m[0]!).fields, [0n, 1n], 'third event fires via the || (ADD) of 0 and 1');
  });
}
