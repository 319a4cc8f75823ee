// Nimbus' signature in the simulator (issue 11): its elasticity detector tells elastic cross
// traffic (a Cubic flow) from inelastic cross traffic (a constant-rate flow) and switches mode
// accordingly. A Reno or Cubic impostor has no modes and does not pulse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAlgorithm, nimbus, type NimbusMode } from '../../src/algorithms/index.ts';
import { simulate, window } from './zoo-helpers.ts';

const SC = { link: '48mbps', rtt: '50ms', buffer: '2bdp', duration: '25s', sampleInterval: '10ms' };
// û is the link rate (48 Mbit/s = 6 MB/s); switching is off by default, as the original
const PARAMS = { uest: '6000000', use_switching: 'true', flow_mode: 'Delay' };

async function run(cross: 'cubic' | 'const') {
  const switches: { mode: NimbusMode; t: number; eta: number }[] = [];
  const alg = nimbus(PARAMS, { onModeChange: (mode, t, eta) => switches.push({ mode, t: t / 1e6, eta }) });
  const constParams = { rate: '24', cwnd_cap: '1000' };
  const other = cross === 'cubic' ? getAlgorithm('cubic') : getAlgorithm('const', constParams);
  const r = await simulate(
    {
      ...SC,
      flows: [
        { alg: 'nimbus' },
        { alg: cross, start: '2s', ...(cross === 'const' ? { params: constParams } : {}) },
      ],
    },
    [alg, other],
  );
  return { r, switches };
}

test('nimbus: against a Cubic flow (elastic) it switches from delay mode to TCP-competitive mode', async () => {
  const { r, switches } = await run('cubic');
  assert.ok(switches.length >= 1, 'a switch happened');
  assert.equal(switches[0]!.mode, 'xtcp');
  assert.ok(switches[0]!.t >= 15, 'not before 15 s (as the original)');
  assert.ok(switches[0]!.eta > 2.25, `elasticity ${switches[0]!.eta.toFixed(2)}`);
  assert.equal(switches.at(-1)!.mode, 'xtcp', 'and stays there');
  // the pulses show in the rate trace: 6 Hz before the switch (delay mode)
  const rate = window(r, r.series.rate[0]!, 5, 10);
  let crossings = 0;
  const m = rate.reduce((a, b) => a + b, 0) / rate.length;
  for (let i = 1; i < rate.length; i++) if (rate[i - 1]! < m && rate[i]! >= m) crossings++;
  assert.ok(Math.abs(crossings / 5 - 6) <= 1, `${crossings / 5} pulses per second in delay mode`);
});

test('nimbus: against a constant-rate flow (inelastic) it stays in delay mode with a short queue', async () => {
  const { r, switches } = await run('const');
  assert.deepEqual(switches, [], 'no switch');
  const q = r.summary.queueDelayMs.p95;
  assert.ok(q < 25, `p95 queueing delay ${q.toFixed(1)} ms (buffer: 100 ms)`);
  assert.ok(r.summary.utilisation > 0.9, `utilisation ${r.summary.utilisation}`);
});
