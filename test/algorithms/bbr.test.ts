// BBR's signature in the simulator (issue 11): low queueing delay with a deep buffer, the ProbeBW
// pacing-gain cycle in the rate trace, and ProbeRTT about every 10 s. A Reno or Cubic impostor
// fails each: it fills the buffer, never paces, and never drops to 4 packets on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, window } from './zoo-helpers.ts';

const LINK = { link: '48mbps', rtt: '50ms' };

test('bbr: with a 4 × BDP buffer, utilisation stays high and queueing delay far below Cubic', async () => {
  const sc = { ...LINK, buffer: '4bdp', duration: '20s' };
  const b = await simulate({ ...sc, flows: [{ alg: 'bbr' }] });
  const c = await simulate({ ...sc, flows: [{ alg: 'cubic' }] });
  const bq = b.summary.queueDelayMs.p95;
  const cq = c.summary.queueDelayMs.p95;
  assert.ok(b.summary.utilisation >= 0.9, `bbr utilisation ${b.summary.utilisation}`);
  assert.ok(c.summary.utilisation >= 0.9, `cubic utilisation ${c.summary.utilisation}`);
  assert.ok(bq < cq / 3, `p95 queueing delay: bbr ${bq.toFixed(1)} ms vs cubic ${cq.toFixed(1)} ms`);
  assert.ok(cq > 100, `cubic fills the deep buffer (${cq.toFixed(1)} ms)`);
});

test('bbr: ProbeBW pacing gains 1.25, 0.75, then 1 for six min RTTs; ProbeRTT every ~10 s', async () => {
  const r = await simulate({
    ...LINK,
    buffer: '1bdp',
    duration: '32s',
    sampleInterval: '5ms',
    flows: [{ alg: 'bbr' }],
  });
  const rate = window(r, r.series.rate[0]!, 3, 9.5);
  // the cruising rate is the most common value; gains are relative to it
  const counts = new Map<number, number>();
  for (const x of rate) counts.set(x, (counts.get(x) ?? 0) + 1);
  const cruise = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  assert.ok(Math.abs(cruise - 48e6) / 48e6 < 0.03, `cruise rate ${cruise / 1e6} Mbit/s ≈ the link`);
  const gains = rate.map((x) => Math.round((x / cruise) * 100) / 100);
  const distinct = [...new Set(gains)].sort();
  assert.deepEqual(distinct, [0.75, 1, 1.25], `gains seen: ${distinct.join(', ')}`);
  // runs of equal gain, in order: 1.25 → 0.75 → 1 → 1.25 ...
  const runs: { g: number; n: number }[] = [];
  for (const g of gains) {
    if (runs.length > 0 && runs.at(-1)!.g === g) runs.at(-1)!.n++;
    else runs.push({ g, n: 1 });
  }
  const full = runs.slice(1, -1);
  assert.ok(full.length >= 9, `${full.length} phases in 6.5 s`);
  for (let i = 0; i + 1 < full.length; i++) {
    const next = { 1.25: 0.75, 0.75: 1, 1: 1.25 }[full[i]!.g as 1.25 | 0.75 | 1];
    assert.equal(full[i + 1]!.g, next, `phase ${i}: ${full[i]!.g} is followed by ${next}`);
  }
  const len = (g: number): number => {
    const l = full.filter((x) => x.g === g).map((x) => x.n);
    return l.reduce((a, b) => a + b, 0) / l.length;
  };
  const ratio = len(1) / len(1.25);
  assert.ok(ratio > 4.5 && ratio < 7.5, `cruising lasts ~6 probing phases (×${ratio.toFixed(2)})`);

  // ProbeRTT: the window drops to 4 packets, about every 10 s
  const cw = r.series.cwnd[0]!;
  const dips: number[] = [];
  for (let k = 1; k < r.series.length; k++) {
    if (cw[k]! <= 4 * 1500 && cw[k - 1]! > 4 * 1500) dips.push(r.series.t[k]!);
  }
  assert.ok(dips.length === 3, `ProbeRTT entries at ${dips.map((t) => t.toFixed(2)).join(', ')} s`);
  for (let i = 1; i < dips.length; i++) {
    const gap = dips[i]! - dips[i - 1]!;
    assert.ok(gap > 9.5 && gap < 11.5, `ProbeRTT ${gap.toFixed(2)} s after the previous one`);
  }
  // and it lasts max(200 ms, 1 RTT), not much longer
  const low = [...cw.subarray(0, r.series.length)].filter((x) => x <= 4 * 1500).length * 0.005;
  assert.ok(low > 3 * 0.2 && low < 3 * 0.4, `${low.toFixed(2)} s at 4 packets in total`);
});
