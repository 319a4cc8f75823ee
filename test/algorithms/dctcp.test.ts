// DCTCP's signature in the simulator (issue 11): with ECN marking at K packets at the
// bottleneck the queue hovers near K at full utilisation without drops; without ECN it behaves
// like Reno. A Reno or Cubic impostor ignores the marks and fills the buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, meanQueuePkts } from './zoo-helpers.ts';

const SC = { link: '48mbps', rtt: '10ms', buffer: '200pkts', duration: '15s', sampleInterval: '5ms' };

test('dctcp: with ECN at K the queue hovers near K, utilisation ≥ 95 %, no drops', async () => {
  for (const k of [20, 40]) {
    const r = await simulate({ ...SC, ecnThreshold: `${k}pkts`, flows: [{ alg: 'dctcp' }] });
    const q = meanQueuePkts(r, 5);
    assert.ok(q > 0.5 * k && q < 1.25 * k, `K=${k}: mean queue ${q.toFixed(1)} packets`);
    assert.ok(r.summary.utilisation >= 0.95, `K=${k}: utilisation ${r.summary.utilisation}`);
    assert.equal(r.summary.tailDrops, 0, 'no drops');
    assert.ok(r.summary.ecnMarks > 0);
  }
  const reno = await simulate({ ...SC, ecnThreshold: '20pkts', flows: [{ alg: 'reno' }] });
  assert.ok(meanQueuePkts(reno, 5) > 60, 'reno ignores the marks');
});

test('dctcp: two flows with ECN share fairly', async () => {
  const r = await simulate({
    ...SC,
    ecnThreshold: '20pkts',
    flows: [{ alg: 'dctcp', count: 2, stagger: '1s' }],
  });
  assert.ok(r.summary.jain > 0.95, `Jain ${r.summary.jain}`);
  assert.equal(r.summary.tailDrops, 0);
  assert.ok(r.summary.utilisation >= 0.95);
});

test('dctcp: without ECN it behaves like Reno (halving on loss, same throughput and queue)', async () => {
  const sc = { ...SC, buffer: '1bdp', duration: '20s' };
  const d = await simulate({ ...sc, flows: [{ alg: 'dctcp' }] });
  const r = await simulate({ ...sc, flows: [{ alg: 'reno' }] });
  assert.equal(d.summary.ecnMarks, 0);
  const qd = meanQueuePkts(d, 5);
  const qr = meanQueuePkts(r, 5);
  assert.ok(
    Math.abs(qd - qr) / qr < 0.25,
    `mean queue: dctcp ${qd.toFixed(1)} vs reno ${qr.toFixed(1)} packets`,
  );
  assert.ok(Math.abs(d.summary.utilisation - r.summary.utilisation) < 0.03);
  // the sawtooth: each reduction halves the window
  const cw = d.series.cwnd[0]!;
  const cuts: number[] = [];
  for (let k = 1000; k < d.series.length; k++) if (cw[k]! < 0.8 * cw[k - 1]!) cuts.push(cw[k]! / cw[k - 1]!);
  assert.ok(cuts.length >= 3, `${cuts.length} reductions`);
  for (const c of cuts) assert.ok(Math.abs(c - 0.5) < 0.06, `reduction ×${c.toFixed(3)}`);
});
