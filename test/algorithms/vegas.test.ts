// Vegas' signature in the simulator (issue 11): each flow keeps between α and β packets queued,
// and with a buffer larger than that nothing is lost. A Reno or Cubic impostor fills the buffer
// until it drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, meanQueuePkts, window } from './zoo-helpers.ts';

const SC = { link: '48mbps', rtt: '20ms', buffer: '1bdp', duration: '15s', sampleInterval: '10ms' };

test('vegas: one flow keeps α..β packets queued, without loss, at full utilisation', async () => {
  for (const [alpha, beta] of [
    [2, 4],
    [8, 12],
  ] as const) {
    const r = await simulate({
      ...SC,
      flows: [{ alg: 'vegas', params: { alpha: String(alpha), beta: String(beta) } }],
    });
    const q = window(r, r.series.queueBytes, 5).map((b) => b / 1500);
    const lo = Math.min(...q);
    const hi = Math.max(...q);
    // the queue counts the packet in service too: allow one packet above β
    assert.ok(lo >= alpha - 1 && hi <= beta + 1, `α=${alpha} β=${beta}: queue ${lo}..${hi} packets`);
    assert.equal(r.summary.tailDrops, 0, 'no loss');
    assert.ok(r.summary.utilisation > 0.95, `utilisation ${r.summary.utilisation}`);
  }
});

test('vegas: two flows each keep α..β packets (total 2α..2β), no loss; cubic drops', async () => {
  const r = await simulate({ ...SC, flows: [{ alg: 'vegas', count: 2, stagger: '1s' }] });
  const q = meanQueuePkts(r, 6);
  assert.ok(q >= 4 - 1 && q <= 8 + 2, `mean queue ${q.toFixed(2)} packets for two flows`);
  assert.equal(r.summary.tailDrops, 0);
  assert.ok(r.summary.jain > 0.8, `Jain ${r.summary.jain}`);
  const c = await simulate({ ...SC, flows: [{ alg: 'cubic', count: 2, stagger: '1s' }] });
  assert.ok(c.summary.tailDrops > 0 && meanQueuePkts(c, 6) > 20, 'a loss-based impostor fills the buffer');
});
