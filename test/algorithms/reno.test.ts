// Reno on generic-cong-avoid (spec algorithms.md §2.3-§2.5), run against the TypeScript datapath
// with scripted ACKs in simulated time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAlgorithm } from '../../src/algorithms/index.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { changeProgs, steps } from './helpers.ts';

const MSS = 1448;
const INIT = 10 * MSS;

test('reno: default program, slow start by acked bytes per report', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('reno') });
  const f = await tb.startFlow();
  const cp = changeProgs(tb, f.sid)[0];
  const byUid = new Map(tb.agent.programs().map((p) => [p.uid, p.name]));
  assert.equal(byUid.get(cp.programUid), 'DatapathIntervalRTTProg');
  assert.deepEqual(cp.updates, [{ regType: 2, regIndex: 4, value: BigInt(INIT) }]);
  await f.rtts(4);
  const st = steps(tb, f.sid);
  assert.ok(st.length >= 3);
  let prev = INIT;
  for (const s of st) {
    assert.equal(s.cwnd, prev + s.r.acked, 'slow start: cwnd += acked');
    prev = s.cwnd!;
  }
  assert.equal(f.cwnd, prev);
  assert.ok(prev >= 5 * INIT, `exponential growth, about doubling per RTT (${prev / MSS} packets)`);
  await tb.close();
});

test('reno: slow start stops at ss_thresh, then +MSS·acked/cwnd per report', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('reno', { ss_thresh: String(20 * MSS) }) });
  const f = await tb.startFlow();
  await f.rtts(8);
  const st = steps(tb, f.sid);
  let cwnd = INIT;
  for (const s of st) {
    let acked = s.r.acked;
    if (cwnd < 20 * MSS) {
      if (cwnd + acked > 20 * MSS) {
        acked -= 20 * MSS - cwnd;
        cwnd = 20 * MSS;
      } else {
        cwnd += acked;
        acked = 0;
      }
    }
    cwnd += (MSS * acked) / cwnd;
    assert.equal(s.cwnd, Math.floor(cwnd));
  }
  assert.ok(f.cwnd > 20 * MSS && f.cwnd < 27 * MSS, `congestion avoidance (${f.cwnd / MSS} pkts)`);
  await tb.close();
});

test('reno: a loss halves the window once per episode (deficit), then growth resumes', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('reno', { ss_thresh: String(40 * MSS) }) });
  const f = await tb.startFlow();
  await f.rtts(4);
  const before = steps(tb, f.sid).at(-1)!.cwnd!;
  assert.ok(before >= 40 * MSS);
  await f.loss();
  let st = steps(tb, f.sid);
  // the loss report also carries the bytes acked since the previous report: increase, then halve
  const x = before + (MSS * st.at(-1)!.r.acked) / before;
  const half = st.at(-1)!.cwnd!;
  assert.equal(st.at(-1)!.r.loss, 1);
  assert.ok(Math.abs(half - Math.floor(x / 2)) <= 1, `halved: ${half} vs ${x / 2}`);
  await f.loss();
  st = steps(tb, f.sid);
  assert.equal(st.at(-1)!.r.loss, 1);
  assert.equal(st.at(-1)!.cwnd, undefined, 'second loss in the episode: no reduction, window frozen');
  assert.equal(f.cwnd, half, 'the datapath applied the halved window');
  await f.rtts(2);
  st = steps(tb, f.sid);
  const s = st.find((x, i) => i > 0 && st[i - 1].r.loss === 1 && x.r.loss === 0)!;
  assert.ok(Math.abs(s.cwnd! - (half + (MSS * s.r.acked) / half)) <= 1, 'additive increase from ssthresh');
  await tb.close();
});

test('reno: deficit_timeout (in RTTs) allows a new reduction after that long', async () => {
  const tb = await createTestbed({
    algorithm: getAlgorithm('reno', { ss_thresh: String(40 * MSS), deficit_timeout: '2' }),
  });
  const f = await tb.startFlow();
  await f.rtts(4);
  await f.loss();
  const half = steps(tb, f.sid).at(-1)!.cwnd!;
  assert.ok(half >= 20 * MSS);
  await f.loss({ advanceUs: 5_000 }); // within 2 RTTs (20 ms) of the reduction: frozen
  assert.equal(steps(tb, f.sid).at(-1)!.cwnd, undefined);
  await f.loss({ advanceUs: 25_000 }); // 30 ms after the reduction > 2 × 10 ms
  assert.equal(steps(tb, f.sid).at(-1)!.cwnd, Math.floor(half / 2), 'halved again');
  await tb.close();
});

test('reno: a timeout resets cwnd to init_cwnd and halves ssthresh (not below init_cwnd)', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('reno', { ss_thresh: String(64 * MSS) }) });
  const f = await tb.startFlow();
  await f.rtts(5);
  assert.ok(f.cwnd > 64 * MSS);
  await f.timeout();
  assert.equal(steps(tb, f.sid).at(-1)!.r.timeout, 1);
  assert.equal(steps(tb, f.sid).at(-1)!.cwnd, INIT);
  await f.ack();
  assert.equal(f.cwnd, INIT, 'applied at the next ACK');
  // slow start again, now up to ssthresh 32 MSS
  await f.rtts(3);
  const st = steps(tb, f.sid);
  const i = st.findIndex((s) => s.r.timeout === 1);
  const crossing = st
    .slice(i + 1)
    .map((s) => s.cwnd!)
    .find((c) => c >= 32 * MSS)!;
  assert.ok(crossing < 33 * MSS, `slow start stops at the halved ssthresh (${crossing / MSS} pkts)`);
  await tb.close();
});

test('reno: per_ack reports on every ACK; report_interval_ms sets reportTime; ss_in_fold grows in the datapath', async () => {
  {
    const tb = await createTestbed({ algorithm: getAlgorithm('reno', { per_ack: 'true' }) });
    const f = await tb.startFlow();
    await f.acks(7);
    assert.equal(f.reports, 7);
    assert.deepEqual(
      tb.agent.programs().map((p) => p.name),
      ['AckUpdateProg'],
    );
    await tb.close();
  }
  {
    const tb = await createTestbed({ algorithm: getAlgorithm('reno', { report_interval_ms: '25' }) });
    const f = await tb.startFlow();
    assert.deepEqual(changeProgs(tb, f.sid)[0].updates, [
      { regType: 2, regIndex: 4, value: BigInt(INIT) },
      { regType: 0, regIndex: 0, value: 25000n },
    ]);
    await f.acks(100, { advanceUs: 1000 });
    assert.equal(f.reports, 3, 'one report per 25 ms (Micros > 25000) over 100 ms');
    await tb.close();
  }
  {
    const tb = await createTestbed({ algorithm: getAlgorithm('reno', { ss_in_fold: 'true' }) });
    const f = await tb.startFlow();
    const names = new Map(tb.agent.programs().map((p) => [p.uid, p.name]));
    assert.equal(names.get(changeProgs(tb, f.sid)[0].programUid), 'SSUpdateProg');
    await f.acks(10);
    assert.equal(f.reports, 0);
    assert.equal(f.cwnd, INIT + 10 * MSS, 'Cwnd += bytes_acked per ACK in the datapath');
    await f.loss();
    assert.equal(f.reports, 1);
    const cps = changeProgs(tb, f.sid);
    assert.equal(
      names.get(cps.at(-1)!.programUid),
      'DatapathIntervalRTTProg',
      'hand-off after the first report',
    );
    await tb.close();
  }
});
