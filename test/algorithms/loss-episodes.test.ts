// generic-cong-avoid's loss episodes (docs/algorithms.md, "Departures from generic-cong-avoid"):
// one multiplicative decrease per episode, and a new episode (a new decrease) once the ACKs come
// from packets sent after the reduction, even while losses never stop. Scripted ACKs against the
// TypeScript datapath in simulated time (testing kit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAlgorithm } from '../../src/algorithms/index.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { steps } from './helpers.ts';

const MSS = 1000;
const RTT = 10_000; // µs, the RTT sample of every scripted ACK

/** Times (µs) at which the window the agent sent went down. */
function reductions(st: ReturnType<typeof steps>, from: number): number[] {
  const out: number[] = [];
  let prev = from;
  for (const s of st) {
    if (s.cwnd === undefined) continue;
    if (s.cwnd < prev) out.push(s.tUs);
    prev = s.cwnd;
  }
  return out;
}

/** A testbed running `alg` whose one flow has slow-started to ssthresh = `packets` × MSS. */
async function grownTo(alg: 'reno' | 'cubic', packets: number) {
  const tb = await createTestbed({
    algorithm: getAlgorithm(alg, { ss_thresh: String(packets * MSS) }),
    mss: MSS,
    rttUs: RTT,
  });
  const f = await tb.startFlow();
  for (let i = 0; i < 20 && f.cwnd < packets * MSS; i++) await f.rtts(1);
  return { tb, f };
}

test('cubic: partial ACKs with SACKs and losses inside one episode do not cut again', async () => {
  const tb = await createTestbed({
    algorithm: getAlgorithm('cubic', { ss_thresh: String(100 * MSS) }),
    mss: MSS,
    rttUs: RTT,
  });
  const f = await tb.startFlow();
  await f.rtts(5);
  assert.equal(f.cwnd, 100 * MSS);
  await f.loss();
  assert.equal(steps(tb, f.sid).at(-1)!.cwnd, 70 * MSS, 'one multiplicative decrease (× 0.7)');
  // the rest of the lossy window: every ACK acks a packet, SACKs one and reveals one more loss.
  // Their RTT samples say these packets were sent before the reduction: same episode.
  for (let i = 0; i < 6; i++) {
    await f.ack({
      advanceUs: 1000,
      bytesAcked: MSS,
      packetsMisordered: 1,
      bytesMisordered: MSS,
      lostPktsSample: 1,
    });
  }
  const st = steps(tb, f.sid);
  assert.equal(st.length >= 7, true);
  for (const s of st.slice(-6)) {
    assert.equal(s.r.loss, 1);
    assert.ok(s.r.acked > 0 && s.r.sacked > 0);
    assert.equal(s.cwnd, undefined, `no second cut inside the episode (report at ${s.tUs} µs)`);
  }
  assert.equal(f.cwnd, 70 * MSS);
  await tb.close();
});

test('cubic: losses that persist cut once per episode, episodes at least one RTT apart', async () => {
  const { tb, f } = await grownTo('cubic', 200);
  assert.equal(f.cwnd, 200 * MSS);
  const t0 = tb.now();
  // 60 ms (6 RTTs) of ACKs that each ack, SACK and lose a packet, one per ms
  for (let i = 0; i < 60; i++) {
    await f.ack({
      advanceUs: 1000,
      bytesAcked: MSS,
      packetsMisordered: 1,
      bytesMisordered: MSS,
      lostPktsSample: 1,
    });
  }
  const cuts = reductions(
    steps(tb, f.sid).filter((s) => s.tUs > t0),
    200 * MSS,
  );
  assert.ok(cuts.length >= 3 && cuts.length <= 6, `${cuts.length} cuts in 6 RTTs: ${cuts.join(', ')}`);
  for (let i = 1; i < cuts.length; i++) {
    assert.ok(
      cuts[i]! - cuts[i - 1]! >= RTT,
      `cuts at ${cuts[i - 1]} and ${cuts[i]} µs: less than one RTT apart`,
    );
  }
  await tb.close();
});

test('reno: a window still too large after halving is halved again one episode later (not frozen)', async () => {
  const { tb, f } = await grownTo('reno', 400);
  assert.ok(f.cwnd >= 400 * MSS && f.cwnd < 401 * MSS);
  const start = f.cwnd;
  const t0 = tb.now();
  // every 2 ms an ACK that reports a loss and a SACK, for 60 ms
  for (let i = 0; i < 30; i++) await f.loss({ advanceUs: 2000 });
  const st = steps(tb, f.sid).filter((s) => s.tUs > t0);
  const cuts = reductions(st, start);
  assert.ok(cuts.length >= 3, `${cuts.length} halvings in 6 RTTs of losses: ${cuts.join(', ')}`);
  for (let i = 1; i < cuts.length; i++) assert.ok(cuts[i]! - cuts[i - 1]! >= RTT);
  assert.ok(f.cwnd <= 50 * MSS, `window ${f.cwnd / MSS} packets`);
  // between episodes the window is frozen (deficit): only reductions were sent
  assert.equal(st.filter((s) => s.cwnd !== undefined).length, cuts.length);
  // once the losses stop, the window grows again
  const low = f.cwnd;
  await f.rtts(3);
  assert.ok(f.cwnd > low, `window ${f.cwnd / MSS} packets after 3 clean RTTs`);
  await tb.close();
});
