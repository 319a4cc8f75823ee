// Copa's signature in the simulator (issue 11): the standing queue tracks 1/δ packets, and two
// Copa flows share fairly. A Reno or Cubic impostor keeps a queue set by the buffer, not by δ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, meanQueuePkts } from './zoo-helpers.ts';

const SC = { link: '48mbps', rtt: '20ms', buffer: '1bdp', duration: '15s', sampleInterval: '5ms' };

test('copa: the standing queue tracks 1/δ packets', async () => {
  const qs: number[] = [];
  for (const delta of [0.5, 0.1, 0.05]) {
    const r = await simulate({ ...SC, flows: [{ alg: 'copa', params: { default_delta: String(delta) } }] });
    const q = meanQueuePkts(r, 7.5);
    qs.push(q);
    assert.ok(
      q >= 0.75 / delta && q <= 2.5 / delta,
      `δ=${delta}: mean queue ${q.toFixed(2)} packets (1/δ = ${1 / delta})`,
    );
    assert.ok(r.summary.utilisation > 0.95, `δ=${delta}: utilisation ${r.summary.utilisation}`);
  }
  assert.ok(qs[0]! < qs[1]! && qs[1]! < qs[2]!, 'a smaller δ keeps a longer queue');
});

test('copa: two flows share fairly with a short queue', async () => {
  const r = await simulate({ ...SC, flows: [{ alg: 'copa', count: 2, stagger: '2s' }] });
  const [a, b] = r.summary.flows.map((f) => f.throughputBps);
  assert.ok(r.summary.jain > 0.95, `Jain ${r.summary.jain.toFixed(3)} (${a! / 1e6}, ${b! / 1e6} Mbit/s)`);
  assert.ok(r.summary.utilisation > 0.95, `utilisation ${r.summary.utilisation}`);
  const q = meanQueuePkts(r, 7.5);
  assert.ok(q < 2 * 2.5 * 2, `mean queue ${q.toFixed(2)} packets (two flows, δ = 0.5)`);
});

test('copa: at 50 ms (BDP 200 packets) a lone flow still keeps ~1/δ packets; against Cubic it competes', async () => {
  const sc = { ...SC, rtt: '50ms', duration: '20s', sampleInterval: '10ms' };
  const r = await simulate({ ...sc, flows: [{ alg: 'copa' }] });
  const q = meanQueuePkts(r, 10);
  assert.ok(q >= 1.5 && q <= 5, `mean queue ${q.toFixed(2)} packets (1/δ = 2)`);
  assert.ok(r.summary.utilisation > 0.95, `utilisation ${r.summary.utilisation}`);
  // TCP-cooperative mode: a buffer-filling Cubic flow does not starve it
  const c = await simulate({ ...sc, flows: [{ alg: 'copa' }, { alg: 'cubic', start: '5s' }] });
  const [copa, cubic] = c.summary.flows.map((f) => f.throughputBps);
  assert.ok(copa! > 0.6 * cubic!, `copa ${copa! / 1e6} vs cubic ${cubic! / 1e6} Mbit/s`);
});
