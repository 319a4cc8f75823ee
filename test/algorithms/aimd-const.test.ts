// aimd and const control laws, run against the TypeScript datapath with the testing kit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { algorithmNames, getAlgorithm } from '../../src/algorithms/index.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { changeProgs, steps } from './helpers.ts';

const MSS = 1448;

test('algorithms are selectable by name; unknown names and parameters are clear errors', () => {
  assert.deepEqual(algorithmNames(), [
    'aimd',
    'const',
    'reno',
    'cubic',
    'bbr',
    'copa',
    'vegas',
    'nimbus',
    'dctcp',
  ]);
  for (const n of ['aimd', 'reno', 'cubic']) assert.equal(getAlgorithm(n).name, n);
  assert.equal(getAlgorithm('const', { cwnd: '10' }).name, 'const');
  const isAlg = (e: unknown) => e instanceof PortusError && e.code === ErrorCodes.ALGORITHM;
  assert.throws(() => getAlgorithm('westwood'), isAlg);
  assert.throws(() => getAlgorithm('reno', { bogus: '1' }), isAlg);
  assert.throws(() => getAlgorithm('reno', { ss_thresh: 'abc' }), isAlg);
  assert.throws(() => getAlgorithm('const'), isAlg);
  assert.throws(() => getAlgorithm('const', { cwnd: '10', rate: '5' }), isAlg);
  assert.throws(() => getAlgorithm('const', { rate: '5' }), isAlg);
  assert.throws(() => getAlgorithm('reno', { per_ack: 'true', report_interval_ms: '10' }), isAlg);
});

test('aimd: starts at 10 MSS; +MSS·acked/cwnd per report; halves on loss or SACK; floor at 10 MSS', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('aimd'), mss: MSS, initCwnd: 4 * MSS });
  const f = await tb.startFlow();
  assert.deepEqual(changeProgs(tb, f.sid)[0].updates, [{ regType: 2, regIndex: 4, value: BigInt(10 * MSS) }]);
  await f.ack();
  assert.equal(f.cwnd, 10 * MSS, 'CHANGE_PROG Cwnd applied at the next ACK');
  await f.rtts(20);
  await f.loss();
  await f.rtts(3);
  await f.loss();
  await f.loss();
  await f.rtts(2);
  // Replay the reports through the law independently and compare with what was sent.
  let cwnd = 10 * MSS;
  const st = steps(tb, f.sid);
  assert.ok(st.length >= 25, `enough reports (${st.length})`);
  let losses = 0;
  for (const s of st) {
    if (s.r.loss > 0 || s.r.sacked > 0) {
      cwnd /= 2;
      losses++;
    } else cwnd += MSS * (s.r.acked / cwnd);
    cwnd = Math.max(cwnd, 10 * MSS);
    assert.equal(s.cwnd, Math.floor(cwnd));
  }
  assert.equal(losses, 3);
  assert.equal(f.cwnd, Math.floor(cwnd), 'the datapath applied the last update');
  // additive increase: roughly one MSS per RTT of reports
  const firstLoss = st.findIndex((s) => s.r.loss > 0);
  assert.ok(firstLoss >= 15, `first loss at report ${firstLoss}`);
  const grown = st.slice(1, firstLoss).map((s) => s.cwnd!);
  for (let i = 1; i < grown.length; i++) {
    const d = grown[i] - grown[i - 1];
    assert.ok(d > 0.8 * MSS && d <= 1.3 * MSS, `step ${i}: +${d}`);
  }
  await tb.close();
});

test('const: a fixed Cwnd in packets of 1500 bytes, never changed by reports or losses', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('const', { cwnd: '20' }) });
  const f = await tb.startFlow();
  await f.rtts(5);
  await f.loss();
  await f.timeout();
  await f.rtts(2);
  assert.deepEqual(changeProgs(tb, f.sid)[0].updates, [{ regType: 2, regIndex: 4, value: 30000n }]);
  assert.ok(f.reports >= 5);
  assert.equal(tb.messages.filter((m) => m.msg.type === 3).length, 0, 'no UPDATE_FIELDS');
  assert.equal(f.cwnd, 30000);
  await tb.close();
});

test('const: rate (Mbit/s) with a cwnd cap (packets)', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('const', { rate: '12', cwnd_cap: '100' }) });
  const f = await tb.startFlow();
  await f.rtts(2);
  assert.deepEqual(changeProgs(tb, f.sid)[0].updates, [
    { regType: 2, regIndex: 4, value: 150000n },
    { regType: 2, regIndex: 5, value: 1500000n },
  ]);
  assert.equal(f.rate, 1_500_000);
  assert.equal(f.cwnd, 150_000);
  await tb.close();
});
