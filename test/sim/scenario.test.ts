// Units, traces and scenario resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countOpportunities,
  parseProbability,
  parseRate,
  parseSize,
  parseTime,
  parseTrace,
  resolveScenario,
  traceRate,
  validateScenario,
} from '../../src/sim/index.ts';
import { isPortusError } from '../../src/errors.ts';

const simError = (e: unknown): boolean => isPortusError(e) && e.code === 'ERR_PORTUS_SIM_CONFIG';

test('units: rates, times, sizes, probabilities', () => {
  assert.equal(parseRate('48mbps'), 48e6);
  assert.equal(parseRate('1.5Gbit/s'), 1.5e9);
  assert.equal(parseRate('800kbps'), 800e3);
  assert.equal(parseRate('1000bps'), 1000);
  assert.equal(parseTime('50ms'), 50_000);
  assert.equal(parseTime('30s'), 30e6);
  assert.equal(parseTime('200us'), 200);
  assert.equal(parseTime('2min'), 120e6);
  assert.equal(parseTime('1.5s'), 1.5e6);
  assert.deepEqual(parseSize('30kb'), { bytes: 30_000 });
  assert.deepEqual(parseSize('64KiB'), { bytes: 65_536 });
  assert.deepEqual(parseSize('100pkts'), { packets: 100 });
  assert.deepEqual(parseSize('1bdp'), { bdp: 1 });
  assert.deepEqual(parseSize('0.5 x BDP'), { bdp: 0.5 });
  assert.equal(parseProbability('0.01%'), 0.0001);
  assert.equal(parseProbability('1e-3'), 0.001);
  for (const bad of [
    () => parseRate('fast'),
    () => parseRate('-3mbps'),
    () => parseTime('5 parsecs'),
    () => parseSize('lots'),
    () => parseProbability('150%'),
  ]) {
    assert.throws(bad, simError);
  }
});

test('traces: parse, reject bad lines, count opportunities over repeats', () => {
  const t = parseTrace('# comment\n\n2\n2\n5\n');
  assert.deepEqual(Array.from(t.opportunitiesMs), [2, 2, 5]);
  assert.equal(t.periodMs, 5);
  assert.equal(traceRate(t), (3 * 1500 * 8) / 0.005);
  assert.equal(countOpportunities(t, 0), 0);
  assert.equal(countOpportunities(t, 2), 2);
  assert.equal(countOpportunities(t, 5), 3);
  assert.equal(countOpportunities(t, 7), 5);
  assert.equal(countOpportunities(t, 10), 6);
  assert.throws(() => parseTrace('3\n2\n'), /non-decreasing/);
  assert.throws(() => parseTrace('1\nabc\n'), /:2: not a millisecond timestamp/);
  assert.throws(() => parseTrace(''), simError);
});

test('scenario resolution: defaults, BDP buffers, groups, staggered starts', () => {
  const r = resolveScenario({
    link: '100mbps',
    rtt: '40ms',
    buffer: '2bdp',
    duration: '20s',
    ecnThreshold: '0.2bdp',
    flows: [
      { alg: 'cubic', count: 3, stagger: '1s', start: '2s' },
      { alg: 'reno', rtt: '80ms', stop: '10s', bytes: '10MB' },
    ],
  });
  assert.equal(r.bdpBytes, 500_000);
  assert.equal(r.net.bufferBytes, 1_000_000);
  assert.equal(r.net.ecnThresholdBytes, 100_000);
  assert.deepEqual(
    r.net.flows.map((f) => f.startUs),
    [2e6, 3e6, 4e6, 0],
  );
  assert.deepEqual(
    r.net.flows.map((f) => f.rttUs),
    [40_000, 40_000, 40_000, 80_000],
  );
  assert.equal(r.net.flows[3]!.stopUs, 10e6);
  assert.equal(r.net.flows[3]!.bytes, 10e6);
  assert.deepEqual(
    r.flows.map((f) => f.alg),
    ['cubic', 'cubic', 'cubic', 'reno'],
  );
  assert.equal(r.net.sampleIntervalUs, 40_000); // 20 s / 500
  assert.equal(r.ipcDelayUs, 20);
  assert.equal(r.net.flows[0]!.initCwndBytes, 14_480); // 10 packets of 1448 payload bytes
  // the fidelity knobs' defaults (docs/sim.md, "Fidelity")
  assert.equal(r.net.headerBytes, 52);
  assert.equal(r.net.flows[0]!.mss, 1448);
  assert.equal(r.net.accessRateBps, 1e9);
  assert.deepEqual(r.net.delayedAck, { every: 2, timeoutUs: 40_000 });
  assert.equal(r.net.lossPlacement, 'after-queue');
  const off = resolveScenario({
    flows: [{ alg: 'cubic', mss: 1500 }],
    access: 'none',
    delayedAck: 'off',
    headers: 0,
  });
  assert.equal(off.net.accessRateBps, undefined);
  assert.equal(off.net.delayedAck, undefined);
  assert.equal(off.net.headerBytes, 0);
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic', mss: 1500 }] }),
    /mss must be an integer in 64\.\.1448/,
  );
  const d = resolveScenario({ flows: [{ alg: 'cubic' }] });
  assert.equal(d.net.link.rateBps, 48e6);
  assert.equal(d.net.durationUs, 30e6);
  assert.equal(d.net.bufferBytes, 300_000);
  assert.equal(d.net.seed, 1);
});

test('scenario validation names the problem', () => {
  assert.throws(() => validateScenario({ flows: [] }), /'flows' must be a non-empty array/);
  assert.throws(
    () => validateScenario({ flows: [{ alg: 'cubic' }], bandwidth: '1mbps' }),
    /unknown key 'bandwidth'/,
  );
  assert.throws(
    () => validateScenario({ flows: [{ alg: 'cubic', count: 0 }] }),
    /count must be a positive integer/,
  );
  assert.throws(() => validateScenario({ flows: [{}] }), /alg must be an algorithm name/);
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic', start: '5s', stop: '1s' }] }),
    /stop .* must be after start/,
  );
});
