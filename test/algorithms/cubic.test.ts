// Cubic on generic-cong-avoid (spec algorithms.md §2.6): the control law in isolation with a
// controlled clock, and a full run against the TypeScript datapath in simulated time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CubicFlow, getAlgorithm } from '../../src/algorithms/index.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { steps } from './helpers.ts';

const MSS = 1000;
const m = (acked: number, rtt = 10_000) => ({
  acked,
  sacked: 0,
  loss: 0,
  wasTimeout: false,
  rtt,
  inflight: 0,
});

test('cubic: reduction ×0.7 with W_last_max, fast convergence, floor at init_cwnd', () => {
  const c = new CubicFlow(10 * MSS, MSS, () => 0);
  c.setCwnd(100 * MSS);
  c.reduction();
  assert.equal(c.currCwnd(), 70 * MSS);
  assert.equal(c.wLastMax, 100);
  c.reduction(); // below W_last_max: fast convergence
  assert.ok(Math.abs(c.wLastMax - 70 * 0.85) < 1e-9);
  assert.equal(c.currCwnd(), 49 * MSS);
  c.setCwnd(12 * MSS);
  c.reduction();
  assert.equal(c.currCwnd(), 10 * MSS, 'floored at init_cwnd');
});

test('cubic: epoch K and target use t = now + d_min − epoch_start (Linux sign)', () => {
  let now = 5_000_000; // µs
  const c = new CubicFlow(10 * MSS, MSS, () => now);
  c.setCwnd(100 * MSS);
  c.reduction(); // cwnd 70, W_last_max 100
  c.increase(m(MSS, 10_000)); // one packet at t0 = 5 s, rtt 10 ms
  const K = Math.cbrt((100 - 70) / 0.4);
  assert.ok(Math.abs(c.k - K) < 1e-12);
  assert.equal(c.epochStart, 5);
  assert.equal(c.dMin, 0.01);
  const t = 0.01; // now + d_min − epoch_start
  const target = 100 + 0.4 * (t - K) ** 3;
  assert.ok(Math.abs(c.cnt - 70 / (target - 70)) < 1e-9, `cnt ${c.cnt}`);
  // later: after K seconds the target is back at W_last_max
  now = 5_000_000 + (K - 0.01) * 1e6;
  const w = c.cwnd;
  c.increase(m(MSS, 10_000));
  assert.ok(Math.abs(c.cnt - w / (100 - w)) < 1e-6, 'at t = K the target is W_last_max');
});

test('cubic: TCP friendliness caps cnt when the Reno estimate is ahead', () => {
  const c = new CubicFlow(10 * MSS, MSS, () => 0);
  c.setCwnd(50 * MSS);
  c.wTcp = 0;
  c.increase(m(MSS));
  // no W_last_max: K = 0, origin = cwnd, target = cwnd + 0.4 t³ with t = d_min
  c.wTcp = 60;
  c.increase(m(MSS));
  assert.ok(c.cnt <= 50 / (c.wTcp - 50) + 1e-9);
});

test('cubic: timeout reset clears the Cubic state', () => {
  const c = new CubicFlow(10 * MSS, MSS, () => 1e6);
  c.setCwnd(100 * MSS);
  c.reduction();
  c.increase(m(5 * MSS));
  c.reset();
  assert.deepEqual(
    [c.wLastMax, c.epochStart, c.originPoint, c.dMin, c.wTcp, c.k, c.ackCnt],
    [0, null, 0, null, 0, 0, 0],
  );
});

test('cubic: after a loss the window regrows concavely and reaches W_last_max about K later', async () => {
  const rtt = 200_000; // long RTT: the cubic region dominates the TCP-friendly one
  const tb = await createTestbed({
    algorithm: getAlgorithm('cubic', { ss_thresh: String(100 * MSS) }),
    mss: MSS,
    rttUs: rtt,
  });
  const f = await tb.startFlow();
  await f.rtts(5);
  assert.equal(f.cwnd, 100 * MSS);
  await f.loss();
  assert.equal(steps(tb, f.sid).at(-1)!.cwnd, 70 * MSS);
  await f.ack();
  assert.equal(f.cwnd, 70 * MSS);
  const tLoss = tb.now();
  const K = Math.cbrt(30 / 0.4);
  const samples: { t: number; w: number }[] = [];
  while (tb.now() - tLoss < 2 * K * 1e6) {
    await f.rtts(1);
    samples.push({ t: (tb.now() - tLoss) / 1e6, w: f.cwnd / MSS });
  }
  const at = (t: number) => samples.find((s) => s.t >= t)!.w;
  const wK = at(K);
  assert.ok(Math.abs(wK - 100) <= 3, `W(K = ${K.toFixed(2)} s) = ${wK} packets ≈ W_last_max`);
  const grow = (t0: number, t1: number) => at(t1) - at(t0);
  assert.ok(grow(0.2, K / 2) > 2 * grow(K / 2, K), 'concave up to K');
  assert.ok(grow(1.5 * K, 2 * K - 0.3) > 2 * grow(K, 1.5 * K), 'convex after K');
  // every update pushed is what the datapath applied
  assert.equal(steps(tb, f.sid).at(-1)!.cwnd, f.cwnd);
  await tb.close();
});
