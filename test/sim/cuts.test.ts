// Window cuts in events.csv are real decreases of the window the sender uses (whole packets, as
// ccp-kernel holds it), never the agent's unaligned byte value coming back aligned through
// snd_cwnd on the next ACK (test/datapath/kernel-cwnd.test.ts shows libccp does exactly that).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, eventsCsv, resolveScenario, runSimulation, type FlowConfig } from '../../src/sim/index.ts';

const MSS = 1448;

test('Network.setCwnd keeps whole packets: an aligned re-apply is no cut, a packet less is', () => {
  const f: FlowConfig = {
    rttUs: 50_000,
    startUs: 0,
    stopUs: Infinity,
    bytes: Infinity,
    mss: MSS,
    initCwndBytes: 10 * MSS + 700,
  };
  const n = new Network({
    link: { rateBps: 48e6 },
    bufferBytes: 300_000,
    ecnThresholdBytes: Infinity,
    lossRate: 0,
    seed: 1,
    flows: [f],
    durationUs: 1e6,
    sampleIntervalUs: 100_000,
  });
  n.setHooks({ ack() {}, timeout() {} });
  n.runUntil(1000);
  const fl = n.flows[0]!;
  assert.ok(fl.active);
  assert.equal(fl.cwndBytes, 10 * MSS, 'the initial window, in whole packets');
  n.setCwnd(0, 312_349); // what Reno sent in a run
  assert.deepEqual([fl.cwndPkts, fl.cwndBytes], [215, 311_320]);
  n.setCwnd(0, 311_320); // libccp re-applying snd_cwnd = 215 × MSS on the next ACK
  n.setCwnd(0, 312_000);
  assert.equal(n.log.events.length, 0, 'the window never went down');
  n.setCwnd(0, 311_319); // one byte below 215 packets: 214 packets, a real cut
  assert.deepEqual(
    n.log.events.map((e) => [e.kind, e.a, e.b]),
    [['cut', 311_320, 214 * MSS]],
  );
  assert.equal(fl.lastCutTo, 214 * MSS);
});

test('Reno on a lossless link: no window decrease at all in events.csv or the cwnd series', async () => {
  // Slow start ends at ss_thresh (≈ 1/3 BDP) without loss; congestion avoidance then adds about one
  // MSS per RTT, so the window never reaches BDP + buffer in 8 s: no loss, hence no cut.
  const r = await runSimulation(
    resolveScenario({
      link: '48mbps',
      rtt: '50ms',
      buffer: '1bdp',
      duration: '8s',
      flows: [{ alg: 'reno', params: { ss_thresh: '100000' } }],
    }),
  );
  const f = r.summary.flows[0]!;
  assert.equal(f.retransPkts, 0);
  assert.equal(r.summary.tailDrops, 0);
  assert.equal(eventsCsv(r.events), 'time_s,flow,event,value,window_after_bytes\n');
  const cwnd = [...r.series.cwnd[0]!].filter((x) => Number.isFinite(x));
  for (let i = 1; i < cwnd.length; i++)
    assert.ok(cwnd[i]! >= cwnd[i - 1]!, `sample ${i}: ${cwnd[i - 1]} -> ${cwnd[i]}`);
  assert.ok(
    cwnd.every((x) => x % MSS === 0),
    'the window is whole packets',
  );
  // the agent did steer it: congestion avoidance grew it by ~1 MSS per RTT (≈ 150 RTTs)
  assert.ok(cwnd.at(-1)! > 100_000 + 100 * MSS, `${cwnd.at(-1)}`);
  assert.ok(
    [...r.series.ssthresh[0]!].every((x) => Number.isNaN(x)),
    'no cut, so no visible ssthresh',
  );
});

test('Reno through losses: every cut follows a loss of its own flow and is a multiplicative decrease', async () => {
  const r = await runSimulation(
    resolveScenario({
      link: '48mbps',
      rtt: '50ms',
      buffer: '1bdp',
      duration: '10s',
      flows: [{ alg: 'reno' }],
    }),
  );
  const ev = r.events.events;
  const cuts = ev.filter((e) => e.kind === 'cut');
  assert.ok(cuts.length >= 2, `${cuts.length} cuts`);
  let lastLoss = -Infinity;
  for (const e of ev) {
    if (e.kind !== 'cut') {
      lastLoss = e.timeUs;
      continue;
    }
    assert.ok(e.timeUs - lastLoss < 200_000, `cut at ${e.timeUs} µs without a loss before it`);
    // Reno halves its own window, which the report's acked bytes may have grown past the
    // datapath's (the first cut, leaving slow start, goes from 1013600 to 608160 bytes)
    assert.ok(e.b <= 0.75 * e.a, `${e.a} -> ${e.b} is no multiplicative decrease`);
    assert.equal(e.a % MSS, 0);
    assert.equal(e.b % MSS, 0);
  }
  // ssthresh_bytes stays at the window the last cut left, below the window that grew since
  const last = cuts.at(-1)!;
  assert.equal(r.series.ssthresh[0]!.at(-1), last.b);
  assert.ok(r.series.cwnd[0]!.at(-1)! > last.b + 50 * MSS);
});
