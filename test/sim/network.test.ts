// The simulator core with small in-test controllers (no agent): the network's own guarantees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countOpportunities,
  Network,
  parseTrace,
  type FlowConfig,
  type NetworkConfig,
} from '../../src/sim/index.ts';

const MSS = 1500;

function flow(over: Partial<FlowConfig> = {}): FlowConfig {
  return {
    rttUs: 50_000,
    startUs: 0,
    stopUs: Infinity,
    bytes: Infinity,
    mss: MSS,
    initCwndBytes: 10 * MSS,
    ...over,
  };
}

function net(over: Partial<NetworkConfig> = {}): Network {
  return new Network({
    link: { rateBps: 48e6 },
    bufferBytes: 300_000,
    ecnThresholdBytes: Infinity,
    lossRate: 0,
    seed: 1,
    flows: [flow()],
    durationUs: 10e6,
    sampleIntervalUs: 100_000,
    ...over,
  });
}

/** Fixed window: never touches cwnd. */
function fixed(n: Network): void {
  n.setHooks({ ack() {}, timeout() {} });
}

/** A Reno-like AIMD controller living in the test (halve once per RTT on loss, +1 MSS per RTT). */
function aimd(n: Network): { acks: number; bytesAcked: number[]; maxInflightOverCwnd: number } {
  const cw = n.flows.map((f) => f.cfg.initCwndBytes);
  const lastCut = n.flows.map(() => -Infinity);
  const st = { acks: 0, bytesAcked: n.flows.map(() => 0), maxInflightOverCwnd: 0 };
  n.setHooks({
    ack(i) {
      const p = n.prims[i]!;
      const mss = n.flows[i]!.mss;
      st.acks++;
      st.bytesAcked[i]! += p.bytesAcked;
      st.maxInflightOverCwnd = Math.max(st.maxInflightOverCwnd, p.packetsInFlight - p.sndCwnd / mss);
      if (p.lostPktsSample > 0 || p.ecnBytes > 0) {
        if (n.now - lastCut[i]! > 60_000) {
          cw[i] = Math.max(cw[i]! / 2, 2 * mss);
          lastCut[i] = n.now;
        }
      } else cw[i]! += (mss * p.bytesAcked) / cw[i]!;
      n.setCwnd(i, cw[i]!);
    },
    timeout(i) {
      cw[i] = 2 * n.flows[i]!.mss;
      n.setCwnd(i, cw[i]!);
    },
  });
  return st;
}

test('conservation of bytes: sent = delivered + dropped + queued, at every checkpoint', () => {
  const n = net({
    flows: [
      flow(),
      flow({ mss: 1000, rttUs: 30_000, initCwndBytes: 10_000 }),
      flow({ startUs: 2e6, stopUs: 6e6 }),
    ],
    lossRate: 0.001,
    bufferBytes: 20_000,
  });
  aimd(n);
  let checks = 0;
  for (let t = 250_000; t <= 10e6; t += 250_000) {
    n.runUntil(t);
    let sent = 0;
    let dropped = 0;
    let received = 0;
    for (const f of n.flows) {
      sent += f.sentBytes;
      dropped += f.droppedPkts * f.mss;
      received += f.rcvBytes;
    }
    assert.equal(received, n.linkBytes);
    assert.equal(sent, received + dropped + n.queueBytes, `at ${t / 1e6}s`);
    const c = n.conservation();
    assert.equal(c.sentPkts, c.deliveredPkts + c.droppedPkts + c.queuedPkts);
    checks++;
  }
  assert.equal(checks, 40);
  assert.ok(n.randomDrops > 0 && n.tailDrops > 0, 'both kinds of drop happened');
});

test('a trace-driven link delivers exactly the trace opportunities', () => {
  // 8 opportunities per 10 ms period, irregularly spaced, with repeats
  const trace = parseTrace('# test trace\n1\n1\n3\n4\n4\n4\n7\n10\n');
  const n = net({
    link: { trace },
    bufferBytes: 1e9,
    flows: [flow({ initCwndBytes: 5000 * MSS })],
    durationUs: 1_234_000,
    sampleIntervalUs: 10_000,
  });
  fixed(n);
  n.runUntil(Infinity);
  // independent count: enumerate opportunity times up to the end
  let expected = 0;
  for (let cycle = 0; cycle * 10 <= 1234; cycle++) {
    for (const ms of [1, 1, 3, 4, 4, 4, 7, 10]) if (cycle * 10 + ms <= 1234) expected++;
  }
  assert.equal(expected, 123 * 8 + 6);
  assert.equal(countOpportunities(trace, 1234), expected);
  assert.equal(n.linkPkts, expected);
  assert.equal(n.opportunitiesUsed, expected + (n.queuePackets > 0 ? 1 : 0));
  // every 10 ms interval carries exactly 8 packets once the queue is backlogged
  for (let k = 0; k < n.series.length; k++) assert.equal(n.series.linkThroughput[k], (8 * MSS * 8) / 0.01);
});

test('a trace link does not bank the opportunities it wastes while idle', () => {
  const trace = parseTrace('1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n'); // 1 packet per ms = 12 Mbit/s
  // a trickle, then a burst of 50 packets into the idle link at 500.5 ms
  const n = net({
    link: { trace },
    flows: [
      flow({ initCwndBytes: 2 * MSS }),
      flow({ startUs: 500_500, initCwndBytes: 50 * MSS, bytes: 50 * MSS }),
    ],
    durationUs: 1e6,
    sampleIntervalUs: 1000,
  });
  fixed(n);
  n.runUntil(Infinity);
  // never more than one packet leaves per millisecond, whatever the idle time before
  let max = 0;
  for (let k = 0; k < n.series.length; k++) max = Math.max(max, n.series.linkThroughput[k]!);
  assert.equal(max, (MSS * 8) / 0.001);
  // the burst needs 50 distinct opportunities: its last packet waits about 49 ms
  const waits = n.flows[1]!.qdelaySamples.sorted();
  assert.equal(waits.length, 50);
  assert.ok(waits[49]! >= 48_000, `burst drained too fast: ${waits[49]} µs`);
  // the only opportunity used but not yet delivered is the one of a packet still in service
  assert.ok(n.opportunitiesUsed - n.linkPkts === (n.queuePackets > 0 ? 1 : 0));
});

test('queueing delay never exceeds buffer/rate (and reaches it when the buffer fills)', () => {
  const rate = 20e6;
  const buffer = 100_000;
  const n = net({ link: { rateBps: rate }, bufferBytes: buffer, flows: [flow(), flow({ rttUs: 20_000 })] });
  aimd(n);
  n.runUntil(Infinity);
  const bound = (buffer * 8e6) / rate;
  const waits = n.qdelaySamples.sorted();
  const max = waits[waits.length - 1]!;
  assert.ok(max <= bound + 1e-6, `max queueing delay ${max} µs > ${bound} µs`);
  // a packet admitted into a full buffer waits for the (buffer - its own size) ahead of it, less
  // whatever of the packet in service has already left
  assert.ok(max >= ((buffer - 2 * MSS) * 8e6) / rate, `buffer never filled (max ${max} µs)`);
  assert.ok(n.maxQueue <= buffer);
  assert.ok(n.tailDrops > 0);
});

test('a fixed window gives the throughput cwnd/RTT predicts (within 2%)', () => {
  for (const pkts of [4, 20, 100]) {
    const n = net({ flows: [flow({ initCwndBytes: pkts * MSS })], durationUs: 20e6 });
    fixed(n);
    n.runUntil(Infinity);
    const predicted = (pkts * MSS * 8) / 0.05;
    const measured = (n.flows[0]!.goodputBytes * 8) / 20;
    assert.ok(Math.abs(measured - predicted) / predicted < 0.02, `${pkts} pkts: ${measured} vs ${predicted}`);
    assert.equal(n.flows[0]!.droppedPkts, 0);
  }
});

test('pacing: a set rate is what the flow sends (within 1%), even with a huge window', () => {
  const n = net({ flows: [flow({ initCwndBytes: 1000 * MSS })], durationUs: 10e6 });
  n.setHooks({
    start(i) {
      n.setRate(i, 1_000_000); // bytes/s
    },
    ack() {},
    timeout() {},
  });
  n.runUntil(Infinity);
  const f = n.flows[0]!;
  assert.ok(Math.abs(f.sentBytes / 10 - 1e6) / 1e6 < 0.01, `sent ${f.sentBytes / 10} B/s`);
  assert.equal(n.tailDrops, 0);
});

test('same seed -> identical results; another seed -> different ones', () => {
  const run = (seed: number): string => {
    const n = net({ seed, lossRate: 0.01, flows: [flow(), flow({ rttUs: 70_000 })] });
    aimd(n);
    n.runUntil(Infinity);
    return JSON.stringify({
      f: n.flows.map((f) => [f.sentPkts, f.goodputBytes, f.retransPkts, f.timeouts, f.cwndBytes]),
      s: Array.from(n.series.queueBytes),
      ev: n.eventsProcessed,
    });
  };
  assert.equal(run(7), run(7));
  assert.notEqual(run(7), run(8));
});

test('loss recovery: every dropped packet is retransmitted and the receiver gets all data', () => {
  const n = net({
    lossRate: 0.01,
    flows: [flow({ initCwndBytes: 50 * MSS, bytes: 2000 * MSS })],
    durationUs: 30e6,
  });
  fixed(n);
  n.runUntil(Infinity);
  const f = n.flows[0]!;
  assert.ok(f.droppedPkts > 10);
  assert.equal(f.goodputBytes, 2000 * MSS, 'all data delivered');
  assert.ok(f.finishedUs > 0, 'flow finished');
  assert.equal(f.retransPkts, f.droppedPkts, 'no spurious retransmissions in a FIFO network');
  assert.equal(f.sndUna, 2000);
});

test('a timeout fires when too few packets follow a loss, with was_timeout, and the flow recovers', () => {
  // window of 2: a loss leaves at most one later delivery (below the dup-ACK threshold)
  const n = net({
    lossRate: 0.05,
    seed: 3,
    flows: [flow({ initCwndBytes: 2 * MSS, bytes: 300 * MSS })],
    durationUs: 60e6,
  });
  let timeouts = 0;
  n.setHooks({
    ack() {},
    timeout(i) {
      assert.equal(n.prims[i]!.wasTimeout, true);
      timeouts++;
      n.setCwnd(i, 2 * MSS);
    },
  });
  n.runUntil(Infinity);
  const f = n.flows[0]!;
  assert.ok(timeouts > 0 && f.timeouts === timeouts);
  assert.equal(f.goodputBytes, 300 * MSS);
});

test('per-ACK primitives: acked bytes add up, RTT >= propagation, in flight <= cwnd, ECN echoed', () => {
  for (const ecn of [Infinity, 30_000]) {
    const n = net({
      ecnThresholdBytes: ecn,
      bufferBytes: 150_000,
      flows: [flow({ initCwndBytes: 190 * MSS })],
    });
    let ecnBytes = 0;
    let minRtt = Infinity;
    let sum = 0;
    let overCwnd = 0;
    let cw = 190 * MSS;
    n.setHooks({
      ack(i) {
        const p = n.prims[i]!;
        sum += p.bytesAcked;
        ecnBytes += p.ecnBytes;
        minRtt = Math.min(minRtt, p.rttSampleUs);
        if (p.packetsInFlight > p.sndCwnd / MSS) overCwnd++;
        assert.equal(p.bytesInFlight, p.packetsInFlight * MSS);
        assert.equal(p.bytesMisordered, p.packetsMisordered * MSS);
        cw += (MSS * p.bytesAcked) / cw;
        n.setCwnd(i, cw);
      },
      timeout() {},
    });
    n.runUntil(Infinity);
    const f = n.flows[0]!;
    assert.equal(sum, f.sndUna * MSS);
    assert.ok(minRtt >= 50_000);
    assert.equal(overCwnd, 0);
    if (ecn === Infinity) assert.equal(ecnBytes, 0);
    else assert.ok(ecnBytes > 0 && n.ecnMarks > 0, 'ECN marks echoed as ecn bytes');
  }
});

test('flows start and stop at their times', () => {
  const n = net({ flows: [flow({ startUs: 1e6, stopUs: 3e6 }), flow()], durationUs: 5e6 });
  fixed(n);
  n.runUntil(0.999e6);
  assert.equal(n.flows[0]!.sentPkts, 0);
  n.runUntil(3e6);
  const sent = n.flows[0]!.sentPkts;
  assert.ok(sent > 0);
  n.runUntil(Infinity);
  assert.equal(n.flows[0]!.sentPkts, sent, 'no packet after the stop time');
  assert.equal(n.flows[0]!.stoppedUs, 3e6);
});

test('SACK-style primitives around one scripted loss follow ccp-kernel semantics', () => {
  // fixed window of 10; the first transmission of packet 20 is dropped
  const n = net({
    flows: [flow()],
    durationUs: 1e6,
    dropFilter: (_f, seq, retrans) => seq === 20 && !retrans,
  });
  const log: { acked: number; pkts: number; mis: number; lost: number; inflight: number }[] = [];
  n.setHooks({
    ack(i) {
      const p = n.prims[i]!;
      log.push({
        acked: p.bytesAcked / MSS,
        pkts: p.packetsAcked,
        mis: p.packetsMisordered,
        lost: p.lostPktsSample,
        inflight: p.packetsInFlight,
      });
    },
    timeout() {
      assert.fail('no timeout expected');
    },
  });
  n.runUntil(Infinity);
  // ACKs of packets 0..19: one packet each
  for (let k = 0; k < 20; k++)
    assert.deepEqual([log[k]!.acked, log[k]!.pkts, log[k]!.mis, log[k]!.lost], [1, 1, 0, 0]);
  // packets 21, 22, 23 arrive above the hole: SACKed (misordered), nothing cumulatively acked
  for (const k of [20, 21, 22]) assert.deepEqual([log[k]!.acked, log[k]!.pkts, log[k]!.mis], [0, 0, 1]);
  // the third SACK past the hole declares packet 20 lost (duplicate-ACK threshold)
  assert.deepEqual([log[20]!.lost, log[21]!.lost, log[22]!.lost], [0, 0, 1]);
  // 10 outstanding; this ACK SACKs one and marks one lost; refilling happens after the invocation
  assert.equal(log[22]!.inflight, 8);
  // the retransmission fills the hole: the cumulative ACK jumps over every SACKed packet
  const fill = log.findIndex((e) => e.acked > 1);
  assert.ok(fill > 22);
  assert.equal(log[fill]!.pkts, 1);
  assert.equal(log[fill]!.mis, 0);
  const sackedBefore = log.slice(20, fill).reduce((a, e) => a + e.mis, 0);
  assert.equal(log[fill]!.acked, sackedBefore + 1);
  const f = n.flows[0]!;
  assert.equal(f.retransPkts, 1);
  assert.equal(f.lostDetected, 1);
  assert.equal(
    log.reduce((a, e) => a + e.acked, 0),
    f.sndUna,
  );
});
