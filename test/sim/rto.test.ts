// The simulator's retransmission timeout is Linux's, srtt + max(4·rttvar, 200 ms): with a deep,
// steady queue the RTT barely varies, and RFC 6298's max(srtt + 4·rttvar, 200 ms) is then about
// one RTT — shorter than any loss recovery, so every loss ended in a spurious timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../../src/sim/index.ts';

const MSS = 1500;

test('a steady deep queue (RTT 250 ms, 100 ms propagation): losses are recovered without timeouts', () => {
  const win = 250; // packets: 100 on the wire at 12 Mbit/s × 100 ms, 150 standing in the queue
  const n = new Network({
    link: { rateBps: 12e6 },
    bufferBytes: 200 * MSS,
    ecnThresholdBytes: Infinity,
    lossRate: 0,
    seed: 1,
    // three scripted losses long after start-up; the initial burst of 250 also overflows the buffer
    dropFilter: (_flow, seq, retransmission) =>
      !retransmission && (seq === 3000 || seq === 3001 || seq === 5000),
    flows: [
      { rttUs: 100_000, startUs: 0, stopUs: Infinity, bytes: Infinity, mss: MSS, initCwndBytes: win * MSS },
    ],
    durationUs: 20e6,
    sampleIntervalUs: 100_000,
  });
  n.setHooks({
    ack() {},
    timeout(i) {
      n.setCwnd(i, win * MSS); // a fixed window: restore it after the sender's own cut
    },
  });
  n.runUntil(Infinity);
  const f = n.flows[0]!;
  assert.ok(f.srtt > 240_000, `srtt ${f.srtt} µs`);
  assert.ok(Math.abs(f.rto - (f.srtt + 200_000)) < 5_000, `rto ${f.rto} µs, srtt ${f.srtt} µs`);
  assert.equal(f.timeouts, 0);
  assert.equal(f.retransPkts, f.droppedPkts, 'each lost packet retransmitted once');
});
